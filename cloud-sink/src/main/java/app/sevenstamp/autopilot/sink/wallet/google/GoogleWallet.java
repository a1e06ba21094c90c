package app.sevenstamp.autopilot.sink.wallet.google;

import app.sevenstamp.autopilot.protocol.support.Backoff;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.sink.config.GoogleWalletSettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;
import org.tinylog.Logger;

/**
 * Google Wallet, spoken directly over its REST API (no Google client library): a LoyaltyClass per
 * program, a LoyaltyObject per card that was saved to Google Wallet, and the save links.
 *
 * <ul>
 * <li>Class {@code <issuerId>.7s-<programId>}: created, or PATCHed to the configured names and logo,
 *     by {@link #syncClass} (at start, on the "google-wallet-classes" thread, retried until done).</li>
 * <li>Object {@code <issuerId>.7s-<cardId>}: inserted when the customer first asks for the save link,
 *     PATCHed on every change ({@link #cardChanged}); a card never saved has no object and costs one 404.</li>
 * <li>Save link: {@code https://pay.google.com/gp/v/save/<jwt>}, the JWT signed RS256 by the service
 *     account, naming only the inserted object's id (a few hundred bytes, far below the URL limits).</li>
 * </ul>
 *
 * <p>Threads: every public method may be called from any thread and blocks for its HTTP round
 * trips; the shared parts ({@link AccessTokens}, {@link RateLimiter}, {@link NotificationBudget}) do
 * their own locking and hold no lock across I/O. {@link #close} stops the class sync thread.
 */
final class GoogleWallet implements GoogleChannel, AutoCloseable {
    /** Google's quota: 20 requests a second per issuer. */
    public static final int REQUESTS_PER_SECOND = 20;
    static final int KNOWN_OBJECTS = 100_000;
    static final String SAVE_URL = "https://pay.google.com/gp/v/save/";
    private static final String CLASSES = "/walletobjects/v1/loyaltyClass";
    private static final String OBJECTS = "/walletobjects/v1/loyaltyObject";
    private static final String NOTIFY = "NOTIFY_ON_UPDATE";
    private static final String SILENT = "NOTIFICATION_SETTINGS_FOR_UPDATES_UNSPECIFIED";

    private final GoogleWalletSettings settings;
    private final ServiceAccount account;
    private final WalletApi api;
    private final AccessTokens tokens;
    private final NotificationBudget budget;
    private final Clock clock;
    private final ExecutorService classSync = Executors.newSingleThreadExecutor(NamedThreads.daemon("google-wallet-classes"));
    private final LongAdder updated = new LongAdder();
    private final LongAdder notified = new LongAdder();
    private final LongAdder coalesced = new LongAdder();
    private final LongAdder noPass = new LongAdder();
    private final LongAdder inserted = new LongAdder();
    private final LongAdder failed = new LongAdder();
    /**
     * Cards whose object this process knows to exist (LRU, bounded): a second tap on the save link, or a
     * holder reloading it in a loop, costs no request to Google and none of the 20 a second the updates need.
     */
    private final Map<String, Boolean> knownObjects = java.util.Collections.synchronizedMap(
            new LinkedHashMap<>(1024, 0.75f, true) {
                private static final long serialVersionUID = 1L;

                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                    return size() > KNOWN_OBJECTS;
                }
            });

    /** The sink's wiring: the key file from the settings, the JDK's HTTP client, real time. */
    public static GoogleWallet create(GoogleWalletSettings settings, Clock clock) {
        ServiceAccount account = ServiceAccount.load(settings.serviceAccountFile());
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        return new GoogleWallet(settings, account, http, clock, WalletApi.Sleeper.REAL,
                () -> ThreadLocalRandom.current().nextDouble(), REQUESTS_PER_SECOND);
    }

    GoogleWallet(GoogleWalletSettings settings, ServiceAccount account, HttpClient http, Clock clock,
            WalletApi.Sleeper sleeper, DoubleSupplier random, int perSecond) {
        if (!settings.enabled()) {
            throw new IllegalArgumentException("Google Wallet settings without google.issuerId");
        }
        this.settings = settings;
        this.account = Objects.requireNonNull(account, "account");
        this.clock = Objects.requireNonNull(clock, "clock");
        URI tokenUrl = settings.tokenUrl() != null ? settings.tokenUrl() : account.tokenUri();
        this.tokens = new AccessTokens(account, tokenUrl, http, clock);
        this.api = new WalletApi(settings.apiUrl(), tokens, http, new RateLimiter(perSecond, System::nanoTime), sleeper,
                random, clock);
        this.budget = new NotificationBudget(clock);
    }

    @Override
    public boolean enabled() {
        return true;
    }

    public String classId(String programId) {
        return settings.issuerId() + ".7s-" + programId;
    }

    public String objectId(String cardId) {
        return settings.issuerId() + ".7s-" + cardId;
    }

    /** Whether {@link #syncClass} created the class or brought an existing one up to date. */
    public enum ClassSync { CREATED, UPDATED }

    /** GET the program's class; insert it if missing, PATCH it (names, logo) otherwise. */
    public ClassSync syncClass(String programId, String programName) {
        String id = classId(programId);
        Map<String, Object> body = classBody(id, programName);
        WalletApi.Answer got = api.call("GET", CLASSES + "/" + id, null, Set.of(404));
        if (got.status() == 404) {
            WalletApi.Answer ins = api.call("POST", CLASSES, body, Set.of(409));
            if (ins.ok()) {
                Logger.info("Google Wallet: loyalty class {} created for program {}", id, programId);
                return ClassSync.CREATED;
            }
            // 409: another sink instance inserted it in between; fall through to the update
        }
        api.call("PATCH", CLASSES + "/" + id, body, Set.of());
        Logger.info("Google Wallet: loyalty class {} updated for program {}", id, programId);
        return ClassSync.UPDATED;
    }

    /**
     * Syncs every program's class on the "google-wallet-classes" thread, retrying the ones that failed
     * with backoff (30 s to 10 min) until all are done or {@link #close}.
     *
     * @param programs program id to program name
     */
    public void startClassSync(Map<String, String> programs) {
        Map<String, String> todo = new LinkedHashMap<>(programs);
        classSync.execute(() -> {
            Backoff backoff = new Backoff(Duration.ofSeconds(30), Duration.ofMinutes(10), () -> ThreadLocalRandom.current().nextDouble());
            while (!todo.isEmpty() && !Thread.currentThread().isInterrupted()) {
                for (String program : List.copyOf(todo.keySet())) {
                    try {
                        syncClass(program, todo.get(program));
                        todo.remove(program);
                    } catch (RuntimeException e) {
                        Logger.warn("Google Wallet: loyalty class of program {} not synced ({}); retrying", program, e.getMessage());
                    }
                }
                if (!todo.isEmpty()) {
                    try {
                        Thread.sleep(backoff.next().toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        });
    }

    /**
     * Inserts the card's object, unless it exists already (then it is PATCHed to the card's state,
     * silently, in case a change went by while it did not exist yet).
     *
     * @return true when this call inserted it
     */
    public boolean insertObject(CardState card) {
        WalletApi.Answer a = api.call("POST", OBJECTS, objectBody(card), Set.of(409));
        if (a.ok()) {
            inserted.increment();
            knownObjects.put(card.cardId(), Boolean.TRUE);
            return true;
        }
        api.call("PATCH", OBJECTS + "/" + objectId(card.cardId()), patchBody(card, null), Set.of(404));
        knownObjects.put(card.cardId(), Boolean.TRUE);
        return false;
    }

    @Override
    public Update cardChanged(CardState card, ChangeKind kind) {
        Objects.requireNonNull(kind, "kind");
        boolean notify = kind.notifies() && budget.tryTake(card.cardId());
        if (kind.notifies() && !notify) {
            coalesced.increment();
        }
        WalletApi.Answer a;
        try {
            a = api.call("PATCH", OBJECTS + "/" + objectId(card.cardId()), patchBody(card, notify ? kind : null), Set.of(404));
        } catch (RuntimeException e) {
            if (notify) {
                budget.giveBack(card.cardId());
            }
            failed.increment();
            throw e;
        }
        if (a.status() == 404) {
            if (notify) {
                budget.giveBack(card.cardId());
            }
            knownObjects.remove(card.cardId());
            noPass.increment();
            return Update.NO_PASS;
        }
        knownObjects.put(card.cardId(), Boolean.TRUE);
        (notify ? notified : updated).increment();
        return notify ? Update.NOTIFIED : Update.UPDATED;
    }

    @Override
    public URI saveLink(CardState card) {
        if (!knownObjects.containsKey(card.cardId())) {
            insertObject(card);
        }
        return saveLink(card.cardId());
    }

    /** The save link of a card whose object exists; no request to Google. */
    public URI saveLink(String cardId) {
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("iss", account.clientEmail());
        claims.put("aud", "google");
        claims.put("typ", "savetowallet");
        claims.put("iat", clock.instant().getEpochSecond());
        claims.put("origins", settings.origins());
        claims.put("payload", Map.of("loyaltyObjects", List.of(Map.of("id", objectId(cardId)))));
        return URI.create(SAVE_URL + Jwt.rs256(claims, account.privateKey(), account.privateKeyId()));
    }

    /** updated, notified, coalesced (a reward or voucher past the daily budget), noPass, inserted, failed. */
    public Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("googleUpdated", updated.sum());
        m.put("googleNotified", notified.sum());
        m.put("googleCoalesced", coalesced.sum());
        m.put("googleNoPass", noPass.sum());
        m.put("googleInserted", inserted.sum());
        m.put("googleFailed", failed.sum());
        return m;
    }

    @Override
    public void close() {
        classSync.shutdownNow();
        try {
            if (!classSync.awaitTermination(5, TimeUnit.SECONDS)) {
                Logger.warn("Google Wallet: the class sync thread did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Map<String, Object> classBody(String id, String programName) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("issuerName", settings.issuerName());
        m.put("programName", programName);
        m.put("programLogo", Map.of("sourceUri", Map.of("uri", settings.logoUrl().toString()),
                "contentDescription", Map.of("defaultValue", Map.of("language", "en", "value", programName))));
        m.put("reviewStatus", "UNDER_REVIEW");
        m.put("accountIdLabel", "Card");
        return m;
    }

    private Map<String, Object> objectBody(CardState card) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", objectId(card.cardId()));
        m.put("classId", classId(card.programId()));
        m.put("state", "ACTIVE");
        m.put("accountId", card.cardId());
        m.putAll(points(card));
        m.put("barcode", barcode(card));
        return m;
    }

    /** @param notifyFor the change to tell the holder about, or null for a silent update */
    private Map<String, Object> patchBody(CardState card, ChangeKind notifyFor) {
        Map<String, Object> m = new LinkedHashMap<>(points(card));
        m.put("barcode", barcode(card));
        // set every time: PATCH keeps a field it is not given, so a notifying preference would stick
        m.put("notifyPreference", notifyFor == null ? SILENT : NOTIFY);
        if (notifyFor != null) {
            m.put("messages", List.of(message(card, notifyFor)));
        }
        return m;
    }

    private static Map<String, Object> points(CardState card) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("loyaltyPoints", Map.of("label", "Stamps", "balance", Map.of("string", card.stampsText())));
        m.put("secondaryLoyaltyPoints", Map.of("label", "Rewards", "balance", Map.of("int", card.rewardsAvailable())));
        return m;
    }

    private static Map<String, Object> barcode(CardState card) {
        return Map.of("type", "QR_CODE", "value", card.cardCode(), "alternateText", card.cardId());
    }

    private static Map<String, Object> message(CardState card, ChangeKind kind) {
        String header = kind == ChangeKind.VOUCHER ? "New voucher" : "Reward earned";
        String body = kind == ChangeKind.VOUCHER
                ? "A voucher is waiting on your " + card.programName() + " card."
                : "You have " + card.rewardsAvailable() + (card.rewardsAvailable() == 1 ? " reward" : " rewards")
                        + " ready on your " + card.programName() + " card.";
        return Map.of("id", "7s-latest", "header", header, "body", body, "messageType", "TEXT");
    }
}
