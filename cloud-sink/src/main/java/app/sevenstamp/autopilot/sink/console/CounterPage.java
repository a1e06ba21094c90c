package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.CardState;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import app.sevenstamp.autopilot.sink.till.TillDesk;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Caller;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Html;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The counter fallback for a missed scan: a staff page that reads a wallet card or a voucher with the
 * phone's camera (the browser's BarcodeDetector, else the bundled jsQR), a photo, a pasted picture or
 * typing, and stamps or redeems it through the same {@link TillDesk} as a till, as the till of the
 * chosen location. Each scan carries a request id made by the page: a retry after a lost answer is the
 * same request, never a second stamp. The answer is one big line the staff can read at arm's length.
 * <ul>
 * <li>{@code GET /console/counter} (staff and above), {@code GET /assets/counter.js}, {@code GET /assets/jsQR.js},
 *     {@code GET /assets/console.css} (every console page's style); the "new customer" buttons ({@link JoinQr});</li>
 * <li>{@code POST /api/v1/counter/scan} {@code {"code","location","requestId"}} (a session with its CSRF token):
 *     {@code {"kind","outcome","ok","headline","detail"}}, 200 for every decision (a refusal is an answer too).</li>
 * </ul>
 */
public final class CounterPage {
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9-]{8,64}");
    private static final int MAX_BODY = 2048;

    private final TillDesk desk;
    private final Audit audit;
    private final byte[] script;
    private final byte[] cardsScript;
    private final byte[] liveScript;
    private final byte[] decoder;
    private final byte[] style;
    private final JoinQr joinQr;

    public CounterPage(TillDesk desk, Audit audit, JoinQr joinQr) {
        this.desk = desk;
        this.audit = audit;
        this.joinQr = joinQr;
        this.style = resource("/assets/console.css");
        this.script = resource("/assets/counter.js");
        this.cardsScript = resource("/assets/cards.js");
        this.liveScript = resource("/assets/live.js");
        this.decoder = resource("/vendor/jsqr-1.4.0/jsQR.js");
    }

    public void register(Router router) {
        router.get("/console/counter", Access.STAFF, this::page)
                .get("/assets/counter.js", Access.PUBLIC, ex -> asset(ex, script))
                .get("/assets/cards.js", Access.PUBLIC, ex -> asset(ex, cardsScript))
                .get("/assets/live.js", Access.PUBLIC, ex -> asset(ex, liveScript))
                .get("/assets/jsQR.js", Access.PUBLIC, ex -> asset(ex, decoder))
                .get("/assets/console.css", Access.PUBLIC, this::style)
                .post("/api/v1/counter/scan", Access.STAFF, this::scan);
    }

    /** The till locations this caller may stamp for: all for an owner, their own for managers and staff. */
    List<String> locations(Caller caller) {
        return desk.locations().stream().filter(caller::mayActAt).toList();
    }

    private void page(Exchange ex) {
        List<String> where = locations(ex.caller());
        StringBuilder b = new StringBuilder("<div id=\"counter\" data-csrf=\"" + Html.esc(ex.caller().csrf()) + "\">\n");
        if (where.isEmpty()) {
            b.append("<p class=\"error\">No till location is open to you. A location needs its till key "
                    + "(pos.&lt;location&gt;.apiKey in the sink's configuration), and your account needs that location.</p>\n");
        }
        b.append("<p><label for=\"location\">Location</label> <select id=\"location\">");
        for (String l : where) {
            b.append("<option>").append(Html.esc(l)).append("</option>");
        }
        b.append("</select></p>\n")
                .append("<p id=\"result\" class=\"result\" role=\"status\" aria-live=\"assertive\">Ready</p>\n")
                .append(joinQr.html())
                .append("<p><button type=\"button\" id=\"start-camera\">Scan with the camera</button></p>\n")
                .append("<video id=\"camera\" hidden playsinline muted width=\"320\"></video>\n")
                .append("<p><label for=\"photo\">Or a photo of the code</label><br>"
                        + "<input id=\"photo\" type=\"file\" accept=\"image/*\" capture=\"environment\"></p>\n")
                .append("<form id=\"manual\"><p><label for=\"code\">Or type or paste the code</label><br>"
                        + "<input id=\"code\" autocomplete=\"off\" autocapitalize=\"characters\" maxlength=\"600\" size=\"40\"> "
                        + "<button type=\"submit\">Stamp or redeem</button></p></form>\n")
                .append("</div>\n")
                .append("<script src=\"/assets/jsQR.js\"></script>\n<script src=\"/assets/counter.js\"></script>\n");
        ex.html(200, Layout.page(ex.caller(), "Counter", b.toString()));
    }

    private void scan(Exchange ex) {
        JsonNode body = ex.jsonObject(MAX_BODY);
        String code = body.path("code").asText("").trim();
        String location = body.path("location").asText("");
        String requestId = body.path("requestId").asText("");
        if (!REQUEST_ID.matcher(requestId).matches()) {
            throw Problem.badRequest("requestId: 8 to 64 letters, digits or '-', the same for every retry of one scan");
        }
        if (!locations(ex.caller()).contains(location)) {
            throw new Problem(403, "location '" + location + "' is not one this account may stamp for");
        }
        String key = "counter-" + requestId;
        Map<String, Object> answer;
        if (code.startsWith(CardCode.MAGIC + ".") && code.length() <= CardCode.MAX_LENGTH) {
            answer = stamp(location, key, code);
        } else if (VoucherCode.parse(code).isPresent()) {
            answer = redeem(location, key, VoucherCode.parse(code).get().text());
        } else {
            answer = result("unknown", "UNREADABLE", false, "Not a card or voucher",
                    "This code is not a 7stamp card or voucher. Ask for the wallet card.");
        }
        audit.record(ex.caller().actor(), "counter-" + answer.get("kind"), target(code), location + ": " + answer.get("outcome"));
        ex.json(200, answer);
    }

    private Map<String, Object> stamp(String location, String key, String code) {
        Optional<TillDesk.Stamped> done;
        try {
            done = desk.stamp(location, key, code, EventKind.STAMP);
        } catch (TillDesk.InProgress | TillDesk.KeyReused e) {
            throw Problem.conflict(e.getMessage());
        }
        if (done.isEmpty()) {
            return result("stamp", "UNUSABLE", false, "Not stamped", "The sink could not use this stamp; see its log.");
        }
        StampAck ack = done.get().ack();
        CardState card = ack.card();
        String progress = card == null ? "" : card.stamps() + " of " + card.stampsRequired() + " stamps"
                + (card.rewardsAvailable() > 0 ? ", " + card.rewardsAvailable() + " reward(s) ready" : "");
        if (ack.outcome() == AckOutcome.REJECTED) {
            return result("stamp", ack.reason().name(), false, "Not stamped: " + reason(ack), progress);
        }
        String headline = ack.outcome() == AckOutcome.DUPLICATE ? "Already stamped"
                : ack.rewardEarned() ? "Stamped: reward earned!" : "Stamped";
        return result("stamp", ack.outcome().name(), true, headline, progress);
    }

    private Map<String, Object> redeem(String location, String key, String code) {
        RedeemAnswer a = desk.redeem(location, key, code, RedeemRequest.Action.REDEEM);
        if (a.outcome() == RedeemOutcome.REDEEMED) {
            return result("redeem", a.outcome().name(), true, "Redeemed: " + (a.title() == null ? "voucher" : a.title()),
                    a.posCode() == null ? "" : "Till code " + a.posCode());
        }
        return result("redeem", a.outcome().name(), false, "Not redeemed: " + a.outcome().name().toLowerCase(Locale.ROOT)
                .replace('_', ' '), a.title() == null ? "" : a.title());
    }

    private static String reason(StampAck ack) {
        return switch (ack.reason()) {
            case TOO_SOON -> "stamped a moment ago";
            case DAILY_CAP -> "today's stamps are used up";
            case BAD_SIGNATURE, UNKNOWN_KEY, MALFORMED -> "not a valid card";
            case UNKNOWN_PROGRAM -> "a card of another program";
            default -> ack.reason().name().toLowerCase(Locale.ROOT).replace('_', ' ');
        };
    }

    private static Map<String, Object> result(String kind, String outcome, boolean ok, String headline, String detail) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", kind);
        m.put("outcome", outcome);
        m.put("ok", ok);
        m.put("headline", headline);
        m.put("detail", detail);
        return m;
    }

    /** What the audit log names: a card's id or a voucher's code, never a whole card code (it is the card). */
    private static String target(String code) {
        String[] parts = code.split("\\.");
        return parts.length == 5 ? "card " + parts[3] : code.length() > 40 ? code.substring(0, 40) : code;
    }

    private void style(Exchange ex) {
        ex.header("Cache-Control", "public, max-age=3600");
        ex.send(200, "text/css; charset=utf-8", style);
    }

    private static void asset(Exchange ex, byte[] bytes) {
        ex.header("Cache-Control", "public, max-age=3600");
        ex.send(200, "text/javascript; charset=utf-8", bytes);
    }

    private static byte[] resource(String path) {
        try (InputStream in = CounterPage.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException(path + " is missing from the sink's jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
