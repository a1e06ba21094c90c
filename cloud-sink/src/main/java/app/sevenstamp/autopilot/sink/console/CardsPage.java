package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.CardCorrections;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Html;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.eclipse.jetty.util.Fields;

/**
 * {@code /console/cards}: find a card by its id (typed, or read from a photo of its QR code), see its
 * balance and every ledger line, and correct it: adjust stamps or rewards, or undo the last stamp,
 * each with a required reason and the signed-in person as the ledger line's actor.
 */
public final class CardsPage {
    private final SinkStore store;
    private final Ledger ledger;
    private final CardCorrections corrections;
    private final Map<String, Program> programs;
    private final Audit audit;

    public CardsPage(SinkStore store, CardCorrections corrections, Map<String, Program> programs, Audit audit) {
        this.store = store;
        this.ledger = new Ledger(store);
        this.corrections = corrections;
        this.programs = java.util.Objects.requireNonNull(programs, "programs"); // not copied: the console's live view (ProgramBook)
        this.audit = audit;
    }

    public void register(Router router) {
        router.get("/console/cards", Access.MANAGER, this::page)
                .post("/console/cards/{cardId}/adjust", Access.MANAGER, ex -> correct(ex, true))
                .post("/console/cards/{cardId}/undo", Access.MANAGER, ex -> correct(ex, false));
    }

    private void page(Exchange ex) {
        String id = Optional.ofNullable(ex.query("id")).map(s -> s.trim().toUpperCase(Locale.ROOT)).orElse("");
        render(ex, 200, id, null);
    }

    private void render(Exchange ex, int status, String id, String message) {
        StringBuilder b = new StringBuilder("<form method=\"get\" action=\"/console/cards\" id=\"find\"><p>"
                + "<label for=\"id\">Card id</label><br><input id=\"id\" name=\"id\" value=\"" + Html.esc(id)
                + "\" maxlength=\"32\" autocapitalize=\"characters\"> <button type=\"submit\">Find</button></p>"
                + "<p><label for=\"card-photo\">Or a photo of the card's QR code</label><br>"
                + "<input id=\"card-photo\" type=\"file\" accept=\"image/*\" capture=\"environment\"></p></form>\n"
                + "<script src=\"/assets/jsQR.js\"></script>\n<script src=\"/assets/cards.js\"></script>\n");
        if (message != null) {
            b.append("<p class=\"error\" role=\"alert\">").append(Html.esc(message)).append("</p>\n");
        }
        if (!id.isEmpty()) {
            if (!CardCode.CARD_ID.matcher(id).matches()) {
                b.append("<p class=\"error\">'").append(Html.esc(id)).append("' is not a card id.</p>\n");
                status = 400;
            } else {
                Optional<StoredCard> card = store.card(id);
                if (card.isEmpty()) {
                    b.append("<p>Card ").append(Html.esc(id)).append(" has no stamps yet.</p>\n");
                    status = status == 200 ? 404 : status;
                } else {
                    detail(ex, b, card.get());
                }
            }
        }
        ex.html(status, Layout.page(ex.caller(), "Cards", b.toString()));
    }

    private void detail(Exchange ex, StringBuilder b, StoredCard card) {
        Program p = programs.get(card.programId());
        String id = card.cardId();
        b.append("<h2>Card ").append(Html.esc(id)).append("</h2>\n<p>").append(Html.esc(p == null ? card.programId() : p.name()))
                .append(": <strong>").append(card.balance().stamps()).append(p == null ? "" : " of " + p.stampsRequired())
                .append(" stamps</strong>, ").append(card.balance().rewardsAvailable()).append(" reward(s) available.</p>\n")
                .append("<form method=\"post\" action=\"/console/cards/").append(Html.esc(id)).append("/adjust\">")
                .append(Layout.csrf(ex.caller())).append("<fieldset><legend>Adjust</legend>")
                .append("<label for=\"stamps\">Stamps (+/-)</label> <input id=\"stamps\" name=\"stamps\" type=\"number\" min=\"-1000\" "
                        + "max=\"1000\" value=\"0\"> <label for=\"rewards\">Rewards (+/-)</label> <input id=\"rewards\" name=\"rewards\" "
                        + "type=\"number\" min=\"-1000\" max=\"1000\" value=\"0\"><br><label for=\"adjust-reason\">Reason</label> "
                        + "<input id=\"adjust-reason\" name=\"reason\" required maxlength=\"200\"> <button type=\"submit\">Adjust</button>"
                        + "</fieldset></form>\n")
                .append("<form method=\"post\" action=\"/console/cards/").append(Html.esc(id)).append("/undo\">")
                .append(Layout.csrf(ex.caller())).append("<fieldset><legend>Undo the last stamp</legend>")
                .append("<label for=\"undo-reason\">Reason</label> <input id=\"undo-reason\" name=\"reason\" required maxlength=\"200\"> "
                        + "<button type=\"submit\">Undo</button></fieldset></form>\n")
                .append("<h2>Ledger</h2>\n<table><thead><tr><th>When</th><th>What</th><th>Stamps</th><th>Rewards</th>"
                        + "<th>Where</th><th>Who</th><th>Reason</th></tr></thead><tbody>\n");
        List<LedgerEntry> lines = ledger.entries(id);
        for (int i = lines.size() - 1; i >= 0; i--) {
            LedgerEntry e = lines.get(i);
            b.append("<tr><td>").append(Html.esc(e.occurredAt().toString())).append("</td><td>")
                    .append(Html.esc(e.type().name().toLowerCase(Locale.ROOT))).append("</td><td>").append(e.stamps())
                    .append("</td><td>").append(e.rewards()).append("</td><td>").append(Html.esc(String.valueOf(e.location())))
                    .append("</td><td>").append(Html.esc(String.valueOf(e.actor()))).append("</td><td>")
                    .append(Html.esc(e.note() != null ? e.note() : e.reason() == null ? "" : e.reason())).append("</td></tr>\n");
        }
        b.append("</tbody></table>\n");
    }

    private void correct(Exchange ex, boolean adjust) {
        String id = ex.param("cardId");
        if (!CardCode.CARD_ID.matcher(id).matches()) {
            throw Problem.badRequest("'" + id + "' is not a card id");
        }
        Fields form = ex.form(4096);
        String reason = Optional.ofNullable(form.getValue("reason")).map(String::trim).orElse("");
        if (reason.isEmpty() || reason.length() > 200) {
            render(ex, 400, id, "A reason (1 to 200 characters) is required.");
            return;
        }
        String operator = ex.caller().operator();
        try {
            if (adjust) {
                int stamps = amount(form.getValue("stamps"));
                int rewards = amount(form.getValue("rewards"));
                corrections.adjust(id, stamps, rewards, reason, operator);
                audit.record(operator, "card-adjust", "card " + id, stamps + " stamps, " + rewards + " rewards: " + reason);
            } else {
                corrections.undoLastStamp(id, reason, operator);
                audit.record(operator, "card-undo", "card " + id, reason);
            }
        } catch (CardCorrections.Refused e) {
            render(ex, 409, id, e.getMessage());
            return;
        } catch (NumberFormatException e) {
            render(ex, 400, id, "Stamps and rewards are whole numbers from -1000 to 1000.");
            return;
        }
        ex.redirect("/console/cards?id=" + id);
    }

    private static int amount(String text) {
        int n = text == null || text.isBlank() ? 0 : Integer.parseInt(text.trim());
        if (Math.abs(n) > CardCorrections.MAX_ADJUST) {
            throw new NumberFormatException("out of range");
        }
        return n;
    }
}
