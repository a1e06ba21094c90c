package app.sevenstamp.autopilot.gateway.config;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The {@code cards.*} keys: which signing keys and programs this box accepts. The only keys the sink changes
 * live (LiveCards reads them again with {@link #read}).
 *
 * @param programs the allowed programs; empty allows every program signed by a trusted key */
public record CardSettings(List<String> trustedKeys, Set<String> programs, CardVerifier verifier) {
    public CardSettings {
        trustedKeys = List.copyOf(trustedKeys);
        programs = Set.copyOf(programs);
    }

    private static final String KEY_FORMAT = "keyId:publicKey as printed by 'autopilot-sink keys show'";

    /** The {@code cards.*} keys alone: also what the fleet checks before it applies them live. */
    public static CardSettings read(Settings s) {
        s.required(GatewayKeys.CARDS_TRUSTED_KEYS.name(), "comma-separated " + KEY_FORMAT);
        List<String> keys = s.list(GatewayKeys.CARDS_TRUSTED_KEYS.name());
        for (String entry : keys) {
            try {
                CardVerifier.parse(List.of(entry));
            } catch (IllegalArgumentException e) {
                throw Settings.bad("cards.trustedKeys", entry, KEY_FORMAT + " (" + e.getMessage() + ")");
            }
        }
        CardVerifier verifier;
        try {
            verifier = CardVerifier.parse(keys);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("cards.trustedKeys: " + e.getMessage());
        }
        Set<String> programs = new LinkedHashSet<>();
        for (String program : s.list(GatewayKeys.CARDS_PROGRAMS.name())) {
            if (!CardCode.PROGRAM_ID.matcher(program).matches()) {
                throw Settings.bad("cards.programs", program, "comma-separated program ids like coffee or bakery-7 ("
                        + CardCode.PROGRAM_ID.pattern() + ")");
            }
            programs.add(program);
        }
        return new CardSettings(keys, programs, verifier);
    }
}
