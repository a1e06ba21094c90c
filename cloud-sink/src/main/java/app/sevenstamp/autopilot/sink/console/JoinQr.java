package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.cards.QrPng;
import app.sevenstamp.autopilot.sink.config.JoinSettings;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Html;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import java.util.Map;
import java.util.Objects;

/**
 * The counter's "new customer" button: the program's join page ({@code <web.publicUrl>/join/<program>},
 * the same address as the counter poster's) as a QR code over the whole screen, for a customer without a
 * card to scan with their own phone. {@code GET /console/counter/join/{programId}} (staff and above) is the
 * PNG; the counter page carries the buttons and the hidden screens, and counter.js shows and hides them.
 */
public final class JoinQr {
    /** Pixels per module: about 400 px for a join address, sharp when the page scales it up. */
    private static final int MODULE_PIXELS = 10;

    private final Map<String, Program> programs;
    private final JoinSettings join;

    public JoinQr(Map<String, Program> programs, JoinSettings join) {
        this.programs = Objects.requireNonNull(programs, "programs");
        this.join = Objects.requireNonNull(join, "join");
    }

    public void register(Router router) {
        router.get("/console/counter/join/{programId}", Access.STAFF, this::png);
    }

    private void png(Exchange ex) {
        String id = ex.param("programId");
        String url = programs.containsKey(id) ? join.joinUrl(id) : null;
        if (url == null) {
            throw Problem.notFound(programs.containsKey(id) ? "no join address: set web.publicUrl (docs/wallet.md, joining)"
                    : "no program '" + id + "'");
        }
        ex.send(200, "image/png", png(url));
    }

    /** The buttons and their full-screen QR codes, hidden until a button is pressed (counter.js). */
    String html() {
        StringBuilder b = new StringBuilder();
        if (programs.isEmpty()) {
            return "";
        }
        if (join.publicUrl() == null) {
            return "<p class=\"hint\">The \"new customer\" QR code needs the sink's public address: set web.publicUrl.</p>\n";
        }
        b.append("<p>");
        for (Program p : programs.values()) {
            b.append("<button type=\"button\" class=\"new-customer\" id=\"new-customer-").append(Html.esc(p.id()))
                    .append("\" data-overlay=\"join-").append(Html.esc(p.id())).append("\" aria-haspopup=\"dialog\">New customer")
                    .append(programs.size() > 1 ? ": " + Html.esc(p.name()) : "").append("</button> ");
        }
        b.append("</p>\n");
        for (Program p : programs.values()) {
            String id = Html.esc(p.id());
            String url = Html.esc(join.joinUrl(p.id()));
            b.append("<div class=\"join-overlay\" id=\"join-").append(id).append("\" hidden role=\"dialog\" aria-modal=\"true\" ")
                    .append("aria-labelledby=\"join-title-").append(id).append("\">\n<h2 id=\"join-title-").append(id)
                    .append("\">Scan to join: ").append(Html.esc(p.name())).append("</h2>\n<img class=\"join-qr\" src=\"/console/counter/join/")
                    .append(id).append("\" alt=\"QR code of ").append(url).append("\">\n<p class=\"join-url\">").append(url)
                    .append("</p>\n<button type=\"button\" class=\"join-back\">Back to scanning</button>\n</div>\n");
        }
        return b.toString();
    }

    static byte[] png(String text) {
        return QrPng.png(text, MODULE_PIXELS);
    }
}
