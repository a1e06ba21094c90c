package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import app.sevenstamp.autopilot.sink.fleet.FleetService;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Caller;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Html;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.eclipse.jetty.util.Fields;

/**
 * {@code /console/programs}: each program's stamps required, milestones, cooldown, daily cap and stamp
 * expiry, as the file sets them and as the console changed them; which boxes of the caller's locations
 * enforce the counter rules published last. An owner changes a program's rules
 * ({@code POST /console/programs/{id}}) or returns it to the file's ({@code POST /console/programs/{id}/reset});
 * either publishes new counter rules to every box at once. A program's rules hold at every location, so a
 * manager, whose account covers some locations only, sees the page but changes nothing.
 */
public final class ProgramsPage {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final java.time.format.DateTimeFormatter STAMP = java.time.format.DateTimeFormatter
            .ofPattern("yyyy-MM-dd HH:mm 'UTC'").withZone(java.time.ZoneOffset.UTC);

    private final ProgramBook programs;
    private final FleetService fleet;
    private final Audit audit;
    private final Clock clock;

    public ProgramsPage(ProgramBook programs, FleetService fleet, Audit audit, Clock clock) {
        this.programs = programs;
        this.fleet = fleet;
        this.audit = audit;
        this.clock = clock;
    }

    public void register(Router router) {
        router.get("/console/programs", Access.MANAGER, ex -> ex.html(200, page(ex.caller(), null, null, null)))
                .post("/console/programs/{id}", Access.OWNER, this::change)
                .post("/console/programs/{id}/reset", Access.OWNER, this::reset);
    }

    private void change(Exchange ex) {
        String id = ex.param("id");
        if (programs.fromFile(id).isEmpty()) {
            throw Problem.notFound("no program '" + id + "'; configured: " + String.join(", ", programs.current().keySet()));
        }
        Fields form = ex.form(4096);
        ProgramBook.Rules rules;
        try {
            rules = ProgramBook.Rules.parse(form.getValue("stampsRequired"), form.getValue("milestones"),
                    form.getValue("cooldown"), form.getValue("dailyCap"), form.getValue("stampExpiry"));
        } catch (IllegalArgumentException e) {
            // the page again, with the person's values and the reason, instead of a bare problem document
            ex.html(400, page(ex.caller(), id, e.getMessage(), form));
            return;
        }
        ProgramBook.Rules before = ProgramBook.Rules.of(programs.current().get(id));
        programs.change(id, rules, ex.caller().actor());
        audit.record(ex.caller().actor(), "program-change", "program " + id, describe(before) + " -> " + describe(rules)
                + "; counter rules version " + fleet.rulesVersion());
        ex.redirect("/console/programs#program-" + id);
    }

    private void reset(Exchange ex) {
        String id = ex.param("id");
        if (programs.fromFile(id).isEmpty()) {
            throw Problem.notFound("no program '" + id + "'");
        }
        if (programs.reset(id)) {
            audit.record(ex.caller().actor(), "program-reset", "program " + id, "the configuration file's rules: "
                    + describe(ProgramBook.Rules.of(programs.current().get(id))) + "; counter rules version " + fleet.rulesVersion());
        }
        ex.redirect("/console/programs#program-" + id);
    }

    static String describe(ProgramBook.Rules r) {
        return "stampsRequired=" + r.stampsRequired() + " milestones=" + (r.milestones().isEmpty() ? "none" : r.milestoneText())
                + " cooldown=" + r.cooldownSeconds() + "s dailyCap=" + r.dailyCap() + " stampExpiry=" + r.expiryDays() + "d";
    }

    /** The page; {@code failedId} with {@code error} shows that program's form again with {@code form}'s values. */
    private String page(Caller c, String failedId, String error, Fields form) {
        boolean owner = c.access() == Access.OWNER;
        StringBuilder b = new StringBuilder();
        long published = fleet.rulesVersion();
        b.append("<p>Counter rules published to the boxes: version <strong id=\"rules-version\">").append(published)
                .append("</strong>. A box enforces cooldown and daily cap offline with the rules it holds; the sink enforces all of them.</p>\n");
        if (!owner) {
            b.append("<p class=\"hint\">A program's rules hold at every location, so only an owner changes them.</p>\n");
        }
        for (Program p : programs.current().values()) {
            ProgramBook.Rules now = ProgramBook.Rules.of(p);
            Program filed = programs.fromFile(p.id()).orElse(p);
            ProgramBook.Rules inFile = ProgramBook.Rules.of(filed);
            Optional<ProgramBook.Changed> changed = programs.changed(p.id());
            b.append("<section class=\"program\" id=\"program-").append(Html.esc(p.id())).append("\">\n<h2>")
                    .append(Html.esc(p.name())).append(" <small>(").append(Html.esc(p.id())).append(")</small></h2>\n");
            table(b, now, changed.isPresent() ? inFile : null);
            b.append("<p>").append(changed.map(ch -> "Changed on the console by " + Html.esc(ch.by()) + " at "
                    + Html.esc(STAMP.format(ch.at())) + "; this wins over the configuration file until reset.")
                    .orElse("As the configuration file sets it.")).append("</p>\n");
            if (owner) {
                boolean failed = p.id().equals(failedId);
                if (failed) {
                    b.append("<p class=\"error\" role=\"alert\" id=\"error-").append(Html.esc(p.id())).append("\">")
                            .append(Html.esc(error)).append("</p>\n");
                }
                String pre = "p-" + p.id() + "-";
                b.append("<form method=\"post\" action=\"/console/programs/").append(Html.esc(p.id())).append("\">")
                        .append(Layout.csrf(c)).append("\n");
                field(b, pre + "stampsRequired", "stampsRequired", "Stamps required (1 to " + Program.MAX_STAMPS + ")",
                        failed ? form.getValue("stampsRequired") : String.valueOf(now.stampsRequired()), "number");
                field(b, pre + "milestones", "milestones", "Milestones (stamp counts below stamps required, comma-separated; empty: none)",
                        failed ? form.getValue("milestones") : now.milestoneText(), "text");
                field(b, pre + "cooldown", "cooldown", "Cooldown in seconds between two stamps of a card (0 to "
                        + ProgramBook.MAX_COOLDOWN_SECONDS + "; 0: off)", failed ? form.getValue("cooldown") : String.valueOf(now.cooldownSeconds()), "number");
                field(b, pre + "dailyCap", "dailyCap", "Daily cap: stamps per card per day (0 to " + ProgramBook.MAX_DAILY_CAP
                        + "; 0: off)", failed ? form.getValue("dailyCap") : String.valueOf(now.dailyCap()), "number");
                field(b, pre + "stampExpiry", "stampExpiry", "Stamp expiry in days without a stamp (0 to "
                        + ProgramBook.MAX_EXPIRY_DAYS + "; 0: never)", failed ? form.getValue("stampExpiry") : String.valueOf(now.expiryDays()), "number");
                b.append("<p><button type=\"submit\">Save and push to the boxes</button></p></form>\n");
                if (changed.isPresent()) {
                    b.append("<form method=\"post\" action=\"/console/programs/").append(Html.esc(p.id())).append("/reset\">")
                            .append(Layout.csrf(c)).append("<button type=\"submit\">Use the configuration file's values</button></form>\n");
                }
            }
            b.append("</section>\n");
        }
        boxes(b, c, published);
        return Layout.page(c, "Programs", b.toString());
    }

    private void boxes(StringBuilder b, Caller c, long published) {
        List<Device> devices = fleet.registry().devices().stream().filter(d -> !d.revoked() && c.mayActAt(d.location())).toList();
        b.append("<h2>Boxes</h2>\n");
        if (devices.isEmpty()) {
            b.append("<p>No box at your locations yet.</p>\n");
            return;
        }
        Instant now = clock.instant();
        long applied = 0;
        StringBuilder rows = new StringBuilder();
        for (Device d : devices) {
            long held = rulesVersion(d);
            boolean ok = held >= published && published > 0;
            applied += ok ? 1 : 0;
            rows.append("<tr class=\"").append(ok ? "applied" : "behind").append("\" id=\"box-").append(Html.esc(d.deviceId()))
                    .append("\"><td>").append(Html.esc(d.deviceId())).append("</td><td>")
                    .append(Html.esc(d.location() == null ? "(not provisioned)" : d.location())).append("</td><td>")
                    .append(held < 0 ? "not reported" : String.valueOf(held)).append("</td><td>")
                    .append(ok ? "applied" : "<strong>not yet</strong>").append("</td><td>")
                    .append(d.lastSeenAt() == null ? "never" : FleetPage.ago(d.lastSeenAt(), now)).append("</td></tr>\n");
        }
        b.append("<p id=\"applied\">").append(applied).append(" of ").append(devices.size())
                .append(" boxes enforce version ").append(published).append(".</p>\n")
                .append("<div class=\"scroll\"><table class=\"fleet\"><thead><tr><th>Box</th><th>Location</th><th>Rules version held</th>"
                        + "<th>Applied</th><th>Last seen</th></tr></thead><tbody>\n").append(rows)
                .append("</tbody></table></div>\n<p class=\"hint\">A box reports the version it holds in its status, every minute and "
                        + "when it takes new rules; a box that is offline takes them when it reconnects. Reload to see more.</p>\n");
    }

    private static long rulesVersion(Device d) {
        if (d.lastStatus() == null) {
            return -1;
        }
        try {
            JsonNode s = JSON.readTree(d.lastStatus());
            return s.path("rulesVersion").isNumber() ? s.path("rulesVersion").asLong() : -1;
        } catch (IOException e) {
            return -1; // a status the sink decoded before; unreadable means nothing to show
        }
    }

    /** One row per value, a column per source: narrow enough for a phone. */
    private static void table(StringBuilder b, ProgramBook.Rules now, ProgramBook.Rules inFile) {
        b.append("<table class=\"rules\"><thead><tr><th></th><th scope=\"col\">In force</th>")
                .append(inFile == null ? "" : "<th scope=\"col\">Configuration file</th>").append("</tr></thead><tbody>\n");
        row(b, "Stamps required", String.valueOf(now.stampsRequired()), inFile == null ? null : String.valueOf(inFile.stampsRequired()));
        row(b, "Milestones", milestones(now), inFile == null ? null : milestones(inFile));
        row(b, "Cooldown", cooldown(now), inFile == null ? null : cooldown(inFile));
        row(b, "Daily cap", cap(now), inFile == null ? null : cap(inFile));
        row(b, "Stamp expiry", expiry(now), inFile == null ? null : expiry(inFile));
        b.append("</tbody></table>\n");
    }

    private static void row(StringBuilder b, String label, String now, String inFile) {
        b.append("<tr><th scope=\"row\">").append(label).append("</th><td>").append(Html.esc(now)).append("</td>")
                .append(inFile == null ? "" : "<td>" + Html.esc(inFile) + "</td>").append("</tr>\n");
    }

    private static String milestones(ProgramBook.Rules r) {
        return r.milestones().isEmpty() ? "none" : r.milestoneText();
    }

    private static String cooldown(ProgramBook.Rules r) {
        return r.cooldownSeconds() == 0 ? "off" : r.cooldownSeconds() + " s";
    }

    private static String cap(ProgramBook.Rules r) {
        return r.dailyCap() == 0 ? "off" : r.dailyCap() + " a day";
    }

    private static String expiry(ProgramBook.Rules r) {
        return r.expiryDays() == 0 ? "never" : r.expiryDays() + " days";
    }

    private static void field(StringBuilder b, String id, String name, String label, String value, String type) {
        b.append("<p><label for=\"").append(Html.esc(id)).append("\">").append(Html.esc(label)).append("</label><br>")
                .append("<input id=\"").append(Html.esc(id)).append("\" name=\"").append(name).append("\" type=\"")
                .append(type).append("\"").append("number".equals(type) ? " inputmode=\"numeric\"" : "")
                .append(" value=\"").append(Html.esc(value == null ? "" : value)).append("\"></p>\n");
    }
}
