package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import app.sevenstamp.autopilot.sink.fleet.FleetService;
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
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * {@code /console/fleet}: every box of the caller's locations with what its retained status says
 * (online, last seen, backlog and its age, scanner, storage, rules and software version), a box gone
 * quiet marked first; identify, self-test and restart buttons ({@code POST /console/fleet/{id}/command}).
 */
public final class FleetPage {
    /** A box reports its status every minute: twice that without word, and it is quiet. */
    static final Duration QUIET = Duration.ofMinutes(2);
    private static final Set<String> BUTTONS = Set.of("identify", "self-test", "restart");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FleetService fleet;
    private final Audit audit;
    private final Clock clock;

    public FleetPage(FleetService fleet, Audit audit, Clock clock) {
        this.fleet = fleet;
        this.audit = audit;
        this.clock = clock;
    }

    public void register(Router router) {
        router.get("/console/fleet", Access.MANAGER, this::page)
                .post("/console/fleet/{id}/command", Access.MANAGER, this::command);
    }

    private List<Device> visible(Caller c) {
        return fleet.registry().devices().stream().filter(d -> !d.revoked() && c.mayActAt(d.location())).toList();
    }

    /** Quiet: offline, or online by its last will but silent for longer than two status periods. */
    boolean quiet(Device d, Instant now) {
        return !d.online() || d.lastSeenAt() == null || d.lastSeenAt().plus(QUIET).isBefore(now);
    }

    private void page(Exchange ex) {
        Instant now = clock.instant();
        List<Device> devices = visible(ex.caller()).stream()
                .sorted((a, b) -> Boolean.compare(!quiet(a, now), !quiet(b, now))).toList();
        StringBuilder b = new StringBuilder();
        if (devices.isEmpty()) {
            b.append("<p>No box at your locations yet. Create a claim (<code>autopilot-sink claims create --location L</code>) "
                    + "and start a box with it.</p>\n");
        }
        b.append("<table class=\"fleet\">\n<thead><tr><th>Box</th><th>Location</th><th>State</th><th>Last seen</th>"
                + "<th>Backlog</th><th>Scanner</th><th>Storage</th><th>Rules</th><th>Version</th><th>Actions</th></tr></thead>\n<tbody>\n");
        long published = fleet.rulesVersion();
        for (Device d : devices) {
            JsonNode s = status(d);
            boolean quiet = quiet(d, now);
            long rules = s.path("rulesVersion").asLong(-1);
            b.append("<tr").append(quiet ? " class=\"quiet\"" : "").append("><td>").append(Html.esc(d.deviceId())).append("</td><td>")
                    .append(Html.esc(d.location() == null ? "(not provisioned)" : d.location())).append("</td><td>").append(quiet ? "<strong>quiet</strong>" : "online")
                    .append("</td><td>").append(d.lastSeenAt() == null ? "never" : ago(d.lastSeenAt(), now)).append("</td><td>")
                    .append(s.path("backlog").asLong(0))
                    .append(s.path("backlog").asLong(0) > 0 ? " (oldest " + s.path("oldestUnsentAgeSeconds").asLong(0) + " s)" : "")
                    .append("</td><td>").append(Html.esc(s.path("scanner").asText("?"))).append("</td><td>")
                    .append(Html.esc(s.path("storage").asText("?"))).append("</td><td>")
                    .append(rules < 0 ? "?" : rules == published ? "current (" + rules + ")" : "<strong>" + rules + " of " + published + "</strong>")
                    .append("</td><td>").append(Html.esc(s.path("version").asText("?"))).append("</td><td>");
            for (String command : List.of("identify", "self-test", "restart")) {
                b.append("<form class=\"inline\" method=\"post\" action=\"/console/fleet/").append(Html.esc(d.deviceId()))
                        .append("/command\">").append(Layout.csrf(ex.caller()))
                        .append("<input type=\"hidden\" name=\"command\" value=\"").append(command).append("\">")
                        .append("<button type=\"submit\">").append(command).append("</button></form> ");
            }
            b.append("</td></tr>\n");
        }
        b.append("</tbody></table>\n<p class=\"hint\">A box is quiet when it is offline or has not reported for "
                + QUIET.toMinutes() + " minutes. Reload for the newest state.</p>\n");
        ex.html(200, Layout.page(ex.caller(), "Fleet", b.toString()));
    }

    private void command(Exchange ex) {
        String id = ex.param("id");
        String command = ex.form(4096).getValue("command");
        Device d = fleet.registry().device(id).filter(x -> ex.caller().mayActAt(x.location()))
                .orElseThrow(() -> Problem.notFound("no box " + id + " at your locations"));
        if (command == null || !BUTTONS.contains(command)) {
            throw Problem.badRequest("command: one of identify, self-test, restart");
        }
        String commandId;
        try {
            commandId = fleet.sendCommand(d.deviceId(), command, null);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new Problem(503, "the command could not be sent: " + e.getMessage());
        }
        audit.record(ex.caller().actor(), "box-" + command, d.deviceId(), "command " + commandId);
        ex.redirect("/console/fleet");
    }

    private static JsonNode status(Device d) {
        try {
            return d.lastStatus() == null ? JSON.createObjectNode() : JSON.readTree(d.lastStatus());
        } catch (IOException e) {
            return JSON.createObjectNode(); // a status the sink decoded before; unreadable means nothing to show
        }
    }

    static String ago(Instant then, Instant now) {
        long s = Math.max(0, Duration.between(then, now).toSeconds());
        return s < 90 ? s + " s ago" : s < 5400 ? (s / 60) + " min ago" : s < 172_800 ? (s / 3600) + " h ago" : (s / 86_400) + " days ago";
    }
}
