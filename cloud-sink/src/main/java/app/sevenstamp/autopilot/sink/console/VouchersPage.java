package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import app.sevenstamp.autopilot.sink.voucher.PosCodePool;
import app.sevenstamp.autopilot.sink.voucher.Voucher;
import app.sevenstamp.autopilot.sink.voucher.VoucherIssuer;
import app.sevenstamp.autopilot.sink.voucher.VoucherOrigin;
import app.sevenstamp.autopilot.sink.voucher.VoucherState;
import app.sevenstamp.autopilot.sink.voucher.VoucherStore;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Html;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import org.eclipse.jetty.util.Fields;

/**
 * {@code /console/vouchers}: the newest vouchers with their state, a form to give a goodwill voucher
 * (to a card or free-standing), a void button for a goodwill voucher not used yet, and the level of the
 * till-code pool.
 */
public final class VouchersPage {
    private static final int[] VALID_DAYS = {7, 30, 90, 365};

    private final VoucherStore vouchers;
    private final VoucherIssuer issuer;
    private final PosCodePool pool;
    private final Audit audit;
    private final Clock clock;

    public VouchersPage(VoucherStore vouchers, VoucherIssuer issuer, PosCodePool pool, Audit audit, Clock clock) {
        this.vouchers = vouchers;
        this.issuer = issuer;
        this.pool = pool;
        this.audit = audit;
        this.clock = clock;
    }

    public void register(Router router) {
        router.get("/console/vouchers", Access.MANAGER, ex -> render(ex, 200, null))
                .post("/console/vouchers", Access.MANAGER, this::give)
                .post("/console/vouchers/{code}/void", Access.MANAGER, this::cancel);
    }

    private void render(Exchange ex, int status, String message) {
        Instant now = clock.instant();
        StringBuilder b = new StringBuilder();
        if (message != null) {
            b.append("<p class=\"error\" role=\"alert\">").append(Html.esc(message)).append("</p>\n");
        }
        b.append("<p>Till codes left in the pool: <strong>").append(pool.configured() ? Long.toString(pool.free()) : "no pool configured")
                .append("</strong></p>\n<form method=\"post\" action=\"/console/vouchers\">").append(Layout.csrf(ex.caller()))
                .append("<fieldset><legend>Give a goodwill voucher</legend>")
                .append("<label for=\"title\">What</label> <input id=\"title\" name=\"title\" required maxlength=\"80\" "
                        + "placeholder=\"Free coffee\"><br><label for=\"card\">Card id (empty: a voucher for anyone)</label> "
                        + "<input id=\"card\" name=\"card\" maxlength=\"32\" autocapitalize=\"characters\"><br>"
                        + "<label for=\"valid\">Valid for</label> <select id=\"valid\" name=\"valid\">");
        for (int d : VALID_DAYS) {
            b.append("<option value=\"").append(d).append("d\"").append(d == 30 ? " selected" : "").append(">").append(d)
                    .append(" days</option>");
        }
        b.append("</select><br><label for=\"reason\">Why</label> <input id=\"reason\" name=\"reason\" required maxlength=\"500\"> "
                + "<button type=\"submit\">Give</button></fieldset></form>\n<h2>Newest vouchers</h2>\n<table><thead><tr>"
                + "<th>Code</th><th>What</th><th>Card</th><th>Origin</th><th>State</th><th>Valid until</th><th>Till code</th>"
                + "<th></th></tr></thead><tbody>\n");
        for (Voucher v : vouchers.latest(100)) {
            VoucherState state = v.state(now);
            b.append("<tr><td><code>").append(Html.esc(v.code().text())).append("</code></td><td>").append(Html.esc(v.title()))
                    .append("</td><td>").append(Html.esc(v.cardId() == null ? "" : v.cardId())).append("</td><td>")
                    .append(v.origin().name().toLowerCase(Locale.ROOT)).append("</td><td>")
                    .append(state.name().toLowerCase(Locale.ROOT)).append("</td><td>")
                    .append(v.validUntil() == null ? "" : Html.esc(v.validUntil().toString())).append("</td><td>")
                    .append(Html.esc(v.posCode() == null ? "" : v.posCode())).append("</td><td>");
            if (v.origin() == VoucherOrigin.GOODWILL && (state == VoucherState.ACTIVE || state == VoucherState.ISSUED)) {
                b.append("<form class=\"inline\" method=\"post\" action=\"/console/vouchers/").append(Html.esc(v.code().text()))
                        .append("/void\">").append(Layout.csrf(ex.caller())).append("<button type=\"submit\">Void</button></form>");
            }
            b.append("</td></tr>\n");
        }
        b.append("</tbody></table>\n");
        ex.html(status, Layout.page(ex.caller(), "Vouchers", b.toString()));
    }

    private void give(Exchange ex) {
        Fields form = ex.form(4096);
        String title = Optional.ofNullable(form.getValue("title")).map(String::trim).orElse("");
        String reason = Optional.ofNullable(form.getValue("reason")).map(String::trim).orElse("");
        String card = Optional.ofNullable(form.getValue("card")).map(s -> s.trim().toUpperCase(Locale.ROOT)).orElse("");
        String valid = Optional.ofNullable(form.getValue("valid")).orElse("30d");
        if (title.isEmpty() || title.length() > 80 || title.chars().anyMatch(Character::isISOControl)) {
            render(ex, 400, "What the voucher is for: 1 to 80 characters.");
            return;
        }
        if (reason.isEmpty() || reason.length() > 500) {
            render(ex, 400, "Why it is given: 1 to 500 characters.");
            return;
        }
        if (!card.isEmpty() && !CardCode.CARD_ID.matcher(card).matches()) {
            render(ex, 400, "'" + card + "' is not a card id.");
            return;
        }
        if (!valid.matches("7d|30d|90d|365d")) {
            throw Problem.badRequest("valid: one of 7d, 30d, 90d, 365d");
        }
        String operator = ex.caller().operator();
        try {
            Voucher v = issuer.goodwill(new VoucherIssuer.Goodwill(title, card.isEmpty() ? null : card,
                    Duration.ofDays(Long.parseLong(valid.substring(0, valid.length() - 1))), null, null, reason, operator, null));
            audit.record(operator, "voucher-given", v.code().text(), title + (card.isEmpty() ? "" : " to card " + card) + ": " + reason);
        } catch (VoucherIssuer.Refused e) {
            render(ex, 409, e.getMessage());
            return;
        }
        ex.redirect("/console/vouchers");
    }

    private void cancel(Exchange ex) {
        VoucherCode code = VoucherCode.parse(ex.param("code")).orElseThrow(() -> Problem.badRequest("not a voucher code"));
        try {
            issuer.voidGoodwill(code, ex.caller().operator());
            audit.record(ex.caller().operator(), "voucher-voided", code.text(), null);
        } catch (VoucherIssuer.Refused e) {
            render(ex, 409, e.getMessage());
            return;
        }
        ex.redirect("/console/vouchers");
    }
}
