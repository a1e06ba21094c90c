package app.sevenstamp.autopilot.sink.wallet.apple;

import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.sink.cards.SigningKey;
import app.sevenstamp.autopilot.sink.config.AppleWalletSettings;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.wallet.CardState;
import app.sevenstamp.autopilot.sink.wallet.CardStates;
import app.sevenstamp.autopilot.sink.wallet.PassChannel;
import app.sevenstamp.autopilot.sink.web.Router;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.tinylog.Logger;

/**
 * Apple Wallet: the customer's download link, the PassKit web service, and the {@link PassChannel} that
 * tells phones of a changed card (the pass's Last-Modified moves, then an APNs push to every registered
 * device; a device APNs calls unregistered is dropped). Built only when {@code wallet.apple.passTypeId}
 * is set. Thread-safe: the routes run on the HTTP pool, {@link #cardChanged} on the pass-update thread;
 * all state is in the store.
 */
public final class AppleWallet implements PassChannel {
    /** The purpose of the derived key that signs download links. */
    static final String LINK_PURPOSE = "apple-wallet-download-v1";

    private final AppleWalletSettings settings;
    private final PassBook book;
    private final PassPackage pkg;
    private final CardStates cards;
    private final CardSigner signer;
    private final byte[] linkKey;
    private final ApnsClient apns;
    private final Clock clock;
    private final LongAdder pushes = new LongAdder();
    private final LongAdder dropped = new LongAdder();

    private AppleWallet(AppleWalletSettings settings, PassBook book, PassPackage pkg, CardStates cards, SigningKey key,
            ApnsClient apns, Clock clock) {
        this.settings = settings;
        this.book = book;
        this.pkg = pkg;
        this.cards = cards;
        this.signer = key.signer();
        this.linkKey = key.derivedKey(LINK_PURPOSE);
        this.apns = apns;
        this.clock = clock;
    }

    /**
     * Loads the certificates and checks them: an expired or mismatched certificate stops the start, one
     * that expires within 30 days is a warning.
     *
     * @throws ConfigException naming the key whose file is unusable
     */
    public static AppleWallet start(AppleWalletSettings settings, SigningKey key, SinkStore store, CardStates cards, Clock clock) {
        PassCredentials credentials = PassCredentials.load(settings);
        for (String p : credentials.problems(settings.passTypeId(), settings.teamId(), clock.instant())) {
            if (p.contains(" expires on ")) {
                Logger.warn("Apple Wallet: {}", p);
            } else {
                throw new ConfigException("wallet.apple: " + p + " ('wallet check' lists every problem)");
            }
        }
        PassPackage pkg = new PassPackage(settings, credentials, image(settings.icon(), "wallet.apple.icon"),
                image(settings.logo(), "wallet.apple.logo"));
        ApnsClient apns = new ApnsClient(settings.apnsUrl(), settings.passTypeId(), credentials, settings.apnsCa());
        Logger.info("Apple Wallet on: pass type {}, team {}, web service {}/passkit, APNs {}, certificate valid until {}",
                settings.passTypeId(), settings.teamId(), settings.webServiceUrl(), settings.apnsUrl(), credentials.notAfter());
        return new AppleWallet(settings, new PassBook(store, new SecureRandom()), pkg, cards, key, apns, clock);
    }

    /**
     * Adds the PassKit web service and the download route.
     *
     * @param nanoTime a monotonic clock ({@code System::nanoTime} in production), for the routes' rate limits
     */
    public void register(Router router, LongSupplier nanoTime) {
        new PassKitRoutes(this, nanoTime).register(router);
    }

    /**
     * The path (with query) the customer opens to add a card to Apple Wallet:
     * {@code /wallet/apple/<cardId>.pkpass?p=<programId>&t=<token>}. The token is HMAC-SHA256 of
     * {@code "<programId>.<cardId>"} under a key derived from the sink's card signing key
     * ({@link SigningKey#derivedKey} with purpose {@value #LINK_PURPOSE}), 128 bits in base64url: only
     * the sink can make it, so a card id alone, which the card page shows, gives nobody the pass.
     */
    public static String downloadPath(SigningKey key, String programId, String cardId) {
        return "/wallet/apple/" + cardId + ".pkpass?p=" + programId + "&t=" + linkToken(key.derivedKey(LINK_PURPOSE), programId, cardId);
    }

    @Override
    public String name() {
        return "apple";
    }

    /** The pass's Last-Modified moves, then each registered device gets a push; throws when APNs must be asked again. */
    @Override
    public void cardChanged(CardState card) throws Exception {
        if (book.touch(card.cardId(), clock.instant()) == null) {
            return; // no Apple pass for this card
        }
        List<String> failed = new ArrayList<>();
        for (String token : book.pushTokens(card.cardId())) {
            ApnsClient.Answer a = apns.push(token);
            switch (a.outcome()) {
                case SENT -> pushes.increment();
                case UNREGISTERED -> {
                    int n = book.dropPushToken(token);
                    dropped.add(n);
                    Logger.info("Apple Wallet: APNs answered {} for a device of pass {}; {} registration(s) dropped",
                            a.detail(), card.cardId(), n);
                }
                default -> failed.add(a.detail());
            }
        }
        if (!failed.isEmpty()) {
            throw new IOException("APNs refused " + failed.size() + " push(es) for pass " + card.cardId() + ": " + failed.get(0));
        }
    }

    /** {@code wallet.apple.pushes}, {@code wallet.apple.dropped}: for {@code SinkMetrics.include}. */
    public Map<String, Long> counters() {
        return Map.of("wallet.apple.pushes", pushes.sum(), "wallet.apple.droppedDevices", dropped.sum());
    }

    PassBook book() {
        return book;
    }

    CardStates cards() {
        return cards;
    }

    Clock clock() {
        return clock;
    }

    String passTypeId() {
        return settings.passTypeId();
    }

    byte[] build(CardState card, String authToken) {
        return pkg.build(card, signer.sign(card.programId(), card.cardId()), authToken, clock.instant());
    }

    boolean linkValid(String programId, String cardId, String token) {
        return MessageDigest.isEqual(linkToken(linkKey, programId, cardId).getBytes(StandardCharsets.US_ASCII),
                token.getBytes(StandardCharsets.US_ASCII));
    }

    static String linkToken(byte[] key, String programId, String cardId) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] h = mac.doFinal((programId + "." + cardId).getBytes(StandardCharsets.US_ASCII));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(java.util.Arrays.copyOf(h, 16));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    private static byte[] image(Path file, String key) {
        if (file == null) {
            return null;
        }
        try {
            byte[] b = Files.readAllBytes(file);
            if (b.length < 8 || b[0] != (byte) 0x89 || b[1] != 'P' || b[2] != 'N' || b[3] != 'G') {
                throw new ConfigException(key + ": " + file + " is not a PNG file");
            }
            return b;
        } catch (IOException e) {
            throw new ConfigException(key + ": " + file + " cannot be read: " + e.getMessage(), e);
        }
    }
}
