package app.sevenstamp.autopilot.sink.wallet.google;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.sink.cards.SigningKey;
import app.sevenstamp.autopilot.sink.config.GoogleWalletSettings;
import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import app.sevenstamp.autopilot.sink.web.Router;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * The Google channel as SinkServer wires it: the {@link GoogleWallet} (or {@link GoogleChannel#OFF},
 * said once in the log), the class sync at start, and the save route. The save route's tokens are
 * keyed with {@link #LINK_PURPOSE} derived from the card signing key: whoever builds a join page
 * computes a card's link with {@code GoogleSaveRoute.path(key.derivedKey(LINK_PURPOSE), programId, cardId)}.
 */
public final class GoogleWalletSetup implements AutoCloseable {
    /** The purpose the save route's HMAC key is derived for ({@link SigningKey#derivedKey}). */
    public static final String LINK_PURPOSE = "7stamp google wallet save link v1";

    private final GoogleChannel channel;
    private final GoogleSaveRoute route;

    private GoogleWalletSetup(GoogleChannel channel, GoogleSaveRoute route) {
        this.channel = channel;
        this.route = route;
    }

    /**
     * Off (one INFO line) without {@code google.issuerId}; otherwise loads the key file (a bad one
     * stops the start, naming the file and the fault) and starts syncing the programs' classes.
     */
    public static GoogleWalletSetup start(GoogleWalletSettings settings, Map<String, Program> programs, SinkStore store,
            SigningKey key, Clock clock) {
        if (!settings.enabled()) {
            Logger.info("Google Wallet: off (no google.issuerId); the join page offers no Google Wallet button");
            return new GoogleWalletSetup(GoogleChannel.OFF, null);
        }
        GoogleWallet wallet;
        try {
            wallet = GoogleWallet.create(settings, clock);
        } catch (GoogleWalletException e) {
            throw new ConfigException("google.serviceAccountFile: " + e.getMessage(), e);
        }
        Map<String, String> names = new LinkedHashMap<>();
        programs.values().forEach(p -> names.put(p.id(), p.name()));
        wallet.startClassSync(names);
        Map<String, Program> known = Map.copyOf(programs);
        var signer = key.signer();
        GoogleSaveRoute.Cards cards = (programId, cardId) -> {
            Program p = known.get(programId);
            if (p == null) {
                return Optional.empty();
            }
            Optional<StoredCard> row = store.card(cardId);
            if (row.isPresent() && !row.get().programId().equals(programId)) {
                return Optional.empty();
            }
            CardBalance b = row.map(StoredCard::balance).orElse(CardBalance.EMPTY);
            return Optional.of(new CardState(cardId, programId, p.name(), Math.min(b.stamps(), p.stampsRequired()),
                    p.stampsRequired(), b.rewardsAvailable(), signer.sign(programId, cardId)));
        };
        Logger.info("Google Wallet: on, issuer {}, {} program class(es) syncing in the background", settings.issuerId(),
                names.size());
        return new GoogleWalletSetup(wallet, new GoogleSaveRoute(wallet, key.derivedKey(LINK_PURPOSE), cards));
    }

    /** What the update queue calls. */
    public GoogleChannel channel() {
        return channel;
    }

    /** Adds {@code GET /wallet/google/{cardId}} when Google Wallet is on. */
    public void register(Router router) {
        if (route != null) {
            route.register(router);
        }
    }

    @Override
    public void close() {
        if (channel instanceof GoogleWallet w) {
            w.close();
        }
    }
}
