package app.sevenstamp.autopilot.gateway.fleet;

import app.sevenstamp.autopilot.gateway.config.CardSettings;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig;
import app.sevenstamp.autopilot.gateway.policy.ScanPolicy;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The scan policy in force, which the desired configuration can change without a restart:
 * {@code cards.programs} and {@code cards.trustedKeys}. A new value is checked exactly as at start
 * ({@link GatewayConfig#cards}); a valid one swaps in a new immutable {@link ScanPolicy}, which the next
 * scan reads; an invalid one throws and changes nothing. No lock: one writer (the fleet thread), and the
 * pipeline reads a volatile reference once per scan.
 */
public final class LiveCards implements Supplier<ScanPolicy> {
    private final AtomicReference<CardSettings> cards;
    private final AtomicReference<ScanPolicy> policy;

    public LiveCards(CardSettings initial) {
        Objects.requireNonNull(initial, "initial");
        this.cards = new AtomicReference<>(initial);
        this.policy = new AtomicReference<>(new ScanPolicy(initial.verifier(), initial.programs()));
    }

    @Override
    public ScanPolicy get() {
        return policy.get();
    }

    /**
     * Applies one {@code cards.*} key; the other keeps its value in force.
     *
     * @throws app.sevenstamp.autopilot.protocol.support.ConfigException for a value the gateway refuses at start
     */
    public synchronized void apply(String key, String value) {
        if (!key.equals("cards.programs") && !key.equals("cards.trustedKeys")) {
            throw new IllegalArgumentException(key + " is not a cards key");
        }
        CardSettings now = cards.get();
        Properties p = new Properties();
        p.setProperty("cards.trustedKeys", String.join(",", now.trustedKeys()));
        p.setProperty("cards.programs", String.join(",", now.programs()));
        p.setProperty(key, value);
        CardSettings next = CardSettings.read(new Settings(p, "desired config"));
        cards.set(next);
        policy.set(new ScanPolicy(next.verifier(), next.programs()));
    }
}
