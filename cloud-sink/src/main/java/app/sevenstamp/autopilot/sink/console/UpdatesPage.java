package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.update.UpdateBook.Release;
import app.sevenstamp.autopilot.sink.update.UpdateBook.Row;
import app.sevenstamp.autopilot.sink.update.UpdateService;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Html;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import java.util.List;

/**
 * {@code /console/updates} (owners only): the published gateway versions, a form to start a stage of a rollout
 * (one box, a percentage, all), and each box's state (pending, downloading, installing, healthy, failed,
 * rolled-back) with the reason of a failure. Publishing stays on the CLI ({@code update publish}), which reads the
 * .deb to hash it.
 */
public final class UpdatesPage {
    private final UpdateService updates;
    private final Audit audit;

    public UpdatesPage(UpdateService updates, Audit audit) {
        this.updates = updates;
        this.audit = audit;
    }

    public void register(Router router) {
        router.get("/console/updates", Access.OWNER, this::page)
                .post("/console/updates/rollout", Access.OWNER, this::rollout);
    }

    private void page(Exchange ex) {
        StringBuilder b = new StringBuilder();
        List<Release> releases = updates.book().releases();
        b.append("<p>Boxes trust manifests signed with this key (<code>update.trustedKey</code> in gateway.properties): <code>")
                .append(Html.esc(updates.trustedKey())).append("</code></p>\n");
        if (releases.isEmpty()) {
            b.append("<p>No version published yet: <code>autopilot-sink update publish --deb FILE --version V --url URL</code>.</p>\n");
        } else {
            b.append("<form method=\"post\" action=\"/console/updates/rollout\">").append(Layout.csrf(ex.caller()))
                    .append("<label for=\"version\">Version</label> <select id=\"version\" name=\"version\">");
            for (int i = releases.size() - 1; i >= 0; i--) {
                b.append("<option>").append(Html.esc(releases.get(i).version())).append("</option>");
            }
            b.append("</select> <label for=\"stage\">Stage</label> <input id=\"stage\" name=\"stage\" required "
                    + "placeholder=\"one:DEVICE_ID, percent:10 or all\"> <button type=\"submit\">Start the stage</button></form>\n");
        }
        b.append("<table class=\"updates\">\n<thead><tr><th>Box</th><th>Version</th><th>Stage</th><th>State</th><th>Detail</th>"
                + "<th>Since</th></tr></thead>\n<tbody>\n");
        for (Row r : updates.book().rows()) {
            boolean bad = r.state().equals("failed") || r.state().equals("rolled-back");
            b.append("<tr").append(bad ? " class=\"quiet\"" : "").append("><td>").append(Html.esc(r.deviceId())).append("</td><td>")
                    .append(Html.esc(r.version())).append("</td><td>").append(Html.esc(r.stage())).append("</td><td>")
                    .append(bad ? "<strong>" + Html.esc(r.state()) + "</strong>" : Html.esc(r.state())).append("</td><td>")
                    .append(r.detail() == null ? "" : Html.esc(r.detail())).append("</td><td>").append(r.updatedAt()).append("</td></tr>\n");
        }
        b.append("</tbody></table>\n<p class=\"hint\">A stage adds boxes to a version's rollout; a box already in it keeps its "
                + "state. Percentages pick boxes by a hash of their id: the same boxes every time, and 50 takes those of 10.</p>\n");
        ex.html(200, Layout.page(ex.caller(), "Updates", b.toString()));
    }

    private void rollout(Exchange ex) {
        var form = ex.form(4096);
        String version = form.getValue("version");
        String stage = form.getValue("stage");
        if (version == null || stage == null) {
            throw Problem.badRequest("version and stage are required");
        }
        List<String> added;
        try {
            added = updates.rollout(version.trim(), stage.trim());
        } catch (IllegalArgumentException e) {
            throw Problem.badRequest(e.getMessage());
        }
        audit.record(ex.caller().actor(), "update-rollout", version, "stage " + stage + ": " + added.size() + " box(es) "
                + String.join(" ", added));
        ex.redirect("/console/updates");
    }
}
