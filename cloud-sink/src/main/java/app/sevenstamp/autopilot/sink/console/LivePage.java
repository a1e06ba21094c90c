package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.store.Activity;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Caller;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Html;
import app.sevenstamp.autopilot.sink.web.Router;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code /console/live}: stamps per minute per location over the last hour and per hour over the last
 * day, as charts the sink draws (SVG, no chart library), and today's rewards and redemptions. The page
 * refreshes its charts and figures every 30 seconds by itself ({@code /assets/live.js}); a manager sees
 * their locations only.
 */
public final class LivePage {
    private static final String[] COLOURS = {"#b5651d", "#1f5fa8", "#2e8540", "#8a1010", "#6b3fa0", "#444444"};
    private static final int WIDTH = 640;
    private static final int HEIGHT = 220;

    private final Activity activity;
    private final Clock clock;

    public LivePage(Activity activity, Clock clock) {
        this.activity = activity;
        this.clock = clock;
    }

    public void register(Router router) {
        router.get("/console/live", Access.MANAGER, this::page)
                .get("/console/live/hour.svg", Access.MANAGER, ex -> chart(ex, true))
                .get("/console/live/day.svg", Access.MANAGER, ex -> chart(ex, false))
                .get("/console/live/today.json", Access.MANAGER, ex -> ex.json(200, today(ex.caller())));
    }

    private void page(Exchange ex) {
        Map<String, Long> t = today(ex.caller());
        String body = "<p>Today (since 00:00 UTC): <strong id=\"stamps-today\">" + t.get("stamps") + "</strong> stamps, "
                + "<strong id=\"rewards-today\">" + t.get("rewards") + "</strong> rewards earned, "
                + "<strong id=\"redemptions-today\">" + t.get("redemptions") + "</strong> redemptions.</p>\n"
                + "<h2>Stamps per minute, last hour</h2>\n<img class=\"live\" id=\"chart-hour\" src=\"/console/live/hour.svg\" "
                + "alt=\"Stamps per minute per location over the last hour\" width=\"" + WIDTH + "\" height=\"" + HEIGHT + "\">\n"
                + "<h2>Stamps per hour, last day</h2>\n<img class=\"live\" id=\"chart-day\" src=\"/console/live/day.svg\" "
                + "alt=\"Stamps per hour per location over the last day\" width=\"" + WIDTH + "\" height=\"" + HEIGHT + "\">\n"
                + "<p class=\"hint\">Updates itself every 30 seconds.</p>\n<script src=\"/assets/live.js\"></script>\n";
        ex.html(200, Layout.page(ex.caller(), "Live", body));
    }

    Map<String, Long> today(Caller c) {
        Instant midnight = LocalDate.now(clock.withZone(ZoneOffset.UTC)).atStartOfDay(ZoneOffset.UTC).toInstant();
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("stamps", sum(c, "STAMP", midnight));
        m.put("rewards", sum(c, "REWARD", midnight));
        m.put("redemptions", sum(c, "VOUCHER_REDEEMED", midnight) + sum(c, "REDEEM", midnight));
        return m;
    }

    private long sum(Caller c, String type, Instant from) {
        return activity.perLocation(type, from, Duration.ofDays(1)).entrySet().stream()
                .filter(e -> c.mayActAt(e.getKey())).flatMap(e -> e.getValue().values().stream()).mapToLong(Long::longValue).sum();
    }

    private void chart(Exchange ex, boolean hour) {
        Duration width = hour ? Duration.ofMinutes(1) : Duration.ofHours(1);
        int buckets = hour ? 60 : 24;
        Instant end = clock.instant().truncatedTo(hour ? ChronoUnit.MINUTES : ChronoUnit.HOURS);
        Instant start = end.minus(width.multipliedBy(buckets - 1L));
        Map<String, Map<Instant, Long>> data = new LinkedHashMap<>();
        activity.perLocation("STAMP", start, width).forEach((location, series) -> {
            if (ex.caller().mayActAt(location)) {
                data.put(location.isEmpty() ? "(none)" : location, series);
            }
        });
        ex.header("Cache-Control", "no-store");
        ex.send(200, "image/svg+xml", svg(data, start, width, buckets).getBytes(StandardCharsets.UTF_8));
    }

    /** A line per location; the y axis from 0 to the largest bucket. */
    static String svg(Map<String, Map<Instant, Long>> data, Instant start, Duration width, int buckets) {
        long max = Math.max(1, data.values().stream().flatMap(m -> m.values().stream()).mapToLong(Long::longValue).max().orElse(1));
        int left = 40;
        int bottom = HEIGHT - 24;
        double dx = (WIDTH - left - 110) / (double) (buckets - 1);
        StringBuilder s = new StringBuilder("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + WIDTH + "\" height=\"" + HEIGHT
                + "\" viewBox=\"0 0 " + WIDTH + " " + HEIGHT + "\" font-family=\"sans-serif\" font-size=\"11\">\n"
                + "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
                + "<line x1=\"" + left + "\" y1=\"" + bottom + "\" x2=\"" + (WIDTH - 110) + "\" y2=\"" + bottom + "\" stroke=\"#999\"/>\n"
                + "<text x=\"4\" y=\"16\">" + max + "</text><text x=\"4\" y=\"" + bottom + "\">0</text>\n");
        int i = 0;
        for (Map.Entry<String, Map<Instant, Long>> e : data.entrySet()) {
            String colour = COLOURS[i % COLOURS.length];
            StringBuilder points = new StringBuilder();
            for (int b = 0; b < buckets; b++) {
                long n = e.getValue().getOrDefault(start.plus(width.multipliedBy(b)), 0L);
                double y = bottom - (bottom - 10) * (n / (double) max);
                points.append(String.format(java.util.Locale.ROOT, "%.1f,%.1f ", left + b * dx, y));
            }
            s.append("<polyline fill=\"none\" stroke=\"").append(colour).append("\" stroke-width=\"2\" points=\"")
                    .append(points.toString().trim()).append("\"/>\n<text x=\"").append(WIDTH - 104).append("\" y=\"")
                    .append(20 + 16 * i).append("\" fill=\"").append(colour).append("\">").append(Html.esc(e.getKey()))
                    .append("</text>\n");
            i++;
        }
        if (data.isEmpty()) {
            s.append("<text x=\"").append(left + 10).append("\" y=\"").append(HEIGHT / 2).append("\">No stamps in this time</text>\n");
        }
        return s.append("</svg>\n").toString();
    }
}
