package app.sevenstamp.autopilot.sink.wallet.apple;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.sink.wallet.CardState;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * Apple's PassKit web service, at {@code <webServiceURL>/v1/...} with {@code webServiceURL = <base>/passkit},
 * and the customer's download link. Public routes with their own authentication: the phone sends
 * {@code Authorization: ApplePass <authenticationToken>}, checked against the stored hashes of that pass's
 * tokens. Every route is bounded: bodies by size (413), registrations and logs per client address and per
 * device library id (429).
 */
final class PassKitRoutes {
    static final String PKPASS = "application/vnd.apple.pkpass";
    static final int MAX_REGISTRATION_BODY = 4096;
    static final int MAX_LOG_BODY = 64 * 1024;
    /** A phone holds a few dozen passes; more for one device library id is a script. */
    static final int MAX_PASSES_PER_DEVICE = 500;
    static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US)
            .withZone(ZoneOffset.UTC);
    /** The last second of the year 9999: a tag beyond it is not one this service gave. */
    private static final long MAX_TAG = 253_402_300_799L;
    private static final Pattern DEVICE = Pattern.compile("[A-Za-z0-9._-]{1,128}");
    private static final Pattern PUSH_TOKEN = Pattern.compile("[0-9A-Za-z]{1,200}");
    private static final Pattern AUTH = Pattern.compile("ApplePass ([\\x21-\\x7E]{16,128})");

    private final AppleWallet wallet;
    private final RateLimit perClient = new RateLimit(120, Duration.ofMinutes(1), 10_000);
    private final RateLimit perDevice = new RateLimit(30, Duration.ofMinutes(1), 10_000);
    private final RateLimit downloads = new RateLimit(30, Duration.ofMinutes(1), 10_000);

    private final LongSupplier nanoTime;

    PassKitRoutes(AppleWallet wallet, LongSupplier nanoTime) {
        this.wallet = wallet;
        this.nanoTime = nanoTime;
    }

    void register(Router router) {
        String reg = "/passkit/v1/devices/{device}/registrations/{passType}/{serial}";
        router.post(reg, Access.PUBLIC, this::registerDevice)
                .delete(reg, Access.PUBLIC, this::unregisterDevice)
                .get("/passkit/v1/devices/{device}/registrations/{passType}", Access.PUBLIC, this::changed)
                .get("/passkit/v1/passes/{passType}/{serial}", Access.PUBLIC, this::latestPass)
                .post("/passkit/v1/log", Access.PUBLIC, this::log)
                .get("/wallet/apple/{file}", Access.PUBLIC, this::download);
    }

    private void registerDevice(Exchange ex) {
        // the (bounded) body is read before any refusal: a connection with an unread body cannot be reused
        JsonNode body = ex.jsonObject(MAX_REGISTRATION_BODY);
        limit(perClient, ex.clientAddress(), "from " + ex.clientAddress());
        String device = device(ex);
        PassBook.Pass pass = authorizedPass(ex);
        String pushToken = body.path("pushToken").asText("");
        if (!PUSH_TOKEN.matcher(pushToken).matches()) {
            throw Problem.badRequest("pushToken must be 1 to 200 letters or digits");
        }
        limit(perDevice, device, "for device " + device);
        if (wallet.book().registrations(device) >= MAX_PASSES_PER_DEVICE) {
            throw new Problem(429, "device " + device + " holds " + MAX_PASSES_PER_DEVICE + " passes of this sink already");
        }
        boolean created = wallet.book().register(device, pass.serial(), pushToken, wallet.clock().instant());
        if (created) {
            Logger.info("Apple Wallet: device {} registered for pass {}", device, pass.serial());
        }
        ex.empty(created ? 201 : 200);
    }

    private void unregisterDevice(Exchange ex) {
        limit(perClient, ex.clientAddress(), "from " + ex.clientAddress());
        String device = device(ex);
        PassBook.Pass pass = authorizedPass(ex);
        wallet.book().unregister(device, pass.serial());
        ex.empty(200);
    }

    /** Not authenticated by Apple's design: it tells only serial numbers, and only to the holder of the device id. */
    private void changed(Exchange ex) {
        limit(perClient, ex.clientAddress(), "from " + ex.clientAddress());
        String device = device(ex);
        passType(ex);
        Long since = null;
        String tag = ex.query("passesUpdatedSince");
        if (tag != null && !tag.isEmpty()) {
            try {
                since = Long.parseLong(tag);
            } catch (NumberFormatException e) {
                since = -1L;
            }
            if (since < 0 || since > MAX_TAG) {
                throw Problem.badRequest("passesUpdatedSince must be the lastUpdated tag this service gave");
            }
        }
        PassBook.Changed c = wallet.book().changedSince(device, since, wallet.clock().instant());
        if (c.serials().isEmpty()) {
            ex.empty(204);
            return;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("serialNumbers", c.serials());
        body.put("lastUpdated", Long.toString(c.lastUpdated()));
        ex.json(200, body);
    }

    private void latestPass(Exchange ex) {
        PassBook.Pass pass = authorizedPass(ex);
        String lastModified = HTTP_DATE.format(pass.updatedAt());
        String since = ex.header("If-Modified-Since");
        if (since != null) {
            try {
                Instant ims = ZonedDateTime.parse(since.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                if (!pass.updatedAt().isAfter(ims)) {
                    ex.header("Last-Modified", lastModified);
                    ex.empty(304);
                    return;
                }
            } catch (DateTimeException e) {
                Logger.debug("Apple Wallet: ignoring If-Modified-Since '{}'", since);
            }
        }
        CardState card = wallet.cards().load(pass.serial(), pass.programId());
        // the copy keeps the token it authenticated with: a phone's later calls must keep working
        byte[] pkpass = wallet.build(card, token(ex));
        ex.header("Last-Modified", lastModified);
        ex.header("Cache-Control", "no-cache");
        ex.send(200, PKPASS, pkpass);
    }

    private void log(Exchange ex) {
        JsonNode body = ex.jsonObject(MAX_LOG_BODY);
        limit(perClient, ex.clientAddress(), "from " + ex.clientAddress());
        int n = 0;
        for (JsonNode line : body.path("logs")) {
            if (n++ == 10) {
                Logger.info("Apple Wallet log from {}: ({} more lines)", ex.clientAddress(), body.path("logs").size() - 10);
                break;
            }
            String text = line.asText().replaceAll("\\p{Cntrl}", " ");
            Logger.info("Apple Wallet log from {}: {}", ex.clientAddress(), text.length() > 300 ? text.substring(0, 300) + "..." : text);
        }
        ex.empty(200);
    }

    /** {@code /wallet/apple/{cardId}.pkpass?p=<programId>&t=<token>}: see {@link AppleWallet#downloadPath}. */
    private void download(Exchange ex) {
        String file = ex.param("file");
        String cardId = file.endsWith(".pkpass") ? file.substring(0, file.length() - ".pkpass".length()) : "";
        if (!CardCode.CARD_ID.matcher(cardId).matches()) {
            throw Problem.notFound("no such pass: " + file);
        }
        limit(downloads, ex.clientAddress(), "of passes from " + ex.clientAddress());
        String programId = ex.query("p");
        String token = ex.query("t");
        if (programId == null || token == null || !CardCode.PROGRAM_ID.matcher(programId).matches()
                || !wallet.linkValid(programId, cardId, token)) {
            throw new Problem(401, "this download link is not valid; open the link the join page gave");
        }
        if (wallet.cards().program(programId).isEmpty()) {
            throw Problem.notFound("program " + programId + " is not offered here any more");
        }
        CardState card = wallet.cards().load(cardId, programId);
        if (!card.programId().equals(programId)) {
            throw Problem.notFound("no such pass: " + file);
        }
        Instant now = wallet.clock().instant();
        String authToken = wallet.book().newToken(cardId, programId, now);
        byte[] pkpass = wallet.build(card, authToken);
        ex.header("Content-Disposition", "attachment; filename=\"" + cardId + ".pkpass\"");
        ex.header("Cache-Control", "no-store");
        ex.send(200, PKPASS, pkpass);
    }

    private String device(Exchange ex) {
        String device = ex.param("device");
        if (!DEVICE.matcher(device).matches()) {
            throw Problem.badRequest("not a device library identifier: 1 to 128 letters, digits, '.', '_' or '-'");
        }
        return device;
    }

    private void passType(Exchange ex) {
        if (!wallet.passTypeId().equals(ex.param("passType"))) {
            throw Problem.notFound("this service has no passes of type " + ex.param("passType"));
        }
    }

    /** The pass named by the path, after its token was checked: 404 for an unknown one, 401 for a wrong token. */
    private PassBook.Pass authorizedPass(Exchange ex) {
        passType(ex);
        String serial = ex.param("serial");
        Optional<PassBook.Pass> pass = CardCode.CARD_ID.matcher(serial).matches() ? wallet.book().pass(serial) : Optional.empty();
        if (pass.isEmpty()) {
            throw Problem.notFound("no pass with serial number " + serial);
        }
        String token = token(ex);
        if (token == null || !wallet.book().authorized(serial, token)) {
            throw new Problem(401, "the pass's authenticationToken is required: 'Authorization: ApplePass <token>'",
                    Map.of("WWW-Authenticate", "ApplePass"));
        }
        return pass.get();
    }

    private static String token(Exchange ex) {
        String h = ex.header("Authorization");
        if (h == null) {
            return null;
        }
        java.util.regex.Matcher m = AUTH.matcher(h.trim());
        return m.matches() ? m.group(1) : null;
    }

    private void limit(RateLimit limit, String key, String what) {
        if (!limit.allow(key, nanoTime.getAsLong())) {
            throw new Problem(429, "too many requests " + what + "; wait a minute", Map.of("Retry-After", "60"));
        }
    }
}
