package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import app.sevenstamp.autopilot.sink.fleet.FleetService;
import app.sevenstamp.autopilot.sink.store.DeadLetters;
import app.sevenstamp.autopilot.sink.store.SeqGap;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Html;
import app.sevenstamp.autopilot.sink.web.Router;
import java.util.List;
import java.util.Map;

/**
 * {@code /console/problems}: what the sink could not use (dead letters by kind, the newest fifty) and
 * the sequence numbers each box of the caller's locations sent later ones past (gaps): stamps that
 * may still be on their way, or lost with a box.
 */
public final class ProblemsPage {
    private final SinkStore store;
    private final DeadLetters deadLetters;
    private final FleetService fleet;

    public ProblemsPage(SinkStore store, DeadLetters deadLetters, FleetService fleet) {
        this.store = store;
        this.deadLetters = deadLetters;
        this.fleet = fleet;
    }

    public void register(Router router) {
        router.get("/console/problems", Access.MANAGER, this::page);
    }

    private void page(Exchange ex) {
        StringBuilder b = new StringBuilder("<h2>Dead letters</h2>\n");
        Map<String, Long> counts = deadLetters.countByKind();
        if (counts.isEmpty()) {
            b.append("<p>None: every message the sink received could be used.</p>\n");
        } else {
            b.append("<ul>");
            counts.forEach((kind, n) -> b.append("<li>").append(Html.esc(kind)).append(": ").append(n).append("</li>"));
            b.append("</ul>\n<table><thead><tr><th>Received</th><th>Box</th><th>Kind</th><th>Detail</th></tr></thead><tbody>\n");
            for (DeadLetters.DeadLetter d : deadLetters.latest(50)) {
                b.append("<tr><td>").append(Html.esc(d.receivedAt().toString())).append("</td><td>")
                        .append(Html.esc(String.valueOf(d.deviceId()))).append("</td><td>").append(Html.esc(d.kind()))
                        .append("</td><td>").append(Html.esc(String.valueOf(d.detail()))).append("</td></tr>\n");
            }
            b.append("</tbody></table>\n");
        }
        b.append("<h2>Sequence gaps</h2>\n");
        List<Device> devices = fleet.registry().devices().stream().filter(d -> ex.caller().mayActAt(d.location())).toList();
        boolean any = false;
        for (Device d : devices) {
            List<SeqGap> gaps = store.gaps(d.deviceId());
            if (gaps.isEmpty()) {
                continue;
            }
            any = true;
            b.append("<h3>").append(Html.esc(d.deviceId())).append(" (").append(Html.esc(String.valueOf(d.location()))).append(")</h3><ul>");
            for (SeqGap g : gaps) {
                b.append("<li>").append(g.from()).append(g.to() == g.from() ? "" : " to " + g.to()).append(": ")
                        .append(g.missing()).append(" missing since ").append(Html.esc(g.detectedAt().toString())).append("</li>");
            }
            b.append("</ul>\n");
        }
        if (!any) {
            b.append("<p>None at your locations: every box's stamps arrived in an unbroken sequence.</p>\n");
        }
        ex.html(200, Layout.page(ex.caller(), "Dead letters and gaps", b.toString()));
    }
}
