package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Vouchers: what a program's reward voucher says and how long it is valid, and the redeem-code pool.
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>{@code program.<id>.voucherTitle}</td><td>{@code Reward: <program name>}</td><td>1..80 characters without control characters</td></tr>
 * <tr><td>{@code program.<id>.voucherValidity}</td><td>{@code 90d}</td><td>0d..3650d after the reward was earned; 0d for no end</td></tr>
 * <tr><td>{@code vouchers.posCodes}</td><td>(none: vouchers carry no till code)</td><td>a readable text file, one till code per line (1..64 printable characters, {@code #} comments); imported at start, and again within 30 s when the file changes</td></tr>
 * <tr><td>{@code vouchers.poolLowWarning}</td><td>{@code 20}</td><td>0..1000000; at or below this many unused codes the sink warns once, and again only after the file refilled the pool above it</td></tr>
 * </table>
 */
public record VoucherSettings(Map<String, VoucherPlan> plans, Path posCodes, int poolLowWarning) {
    static final Duration MAX_VALIDITY = Duration.ofDays(3650);

    public VoucherSettings {
        plans = Collections.unmodifiableMap(new TreeMap<>(plans));
    }

    static VoucherSettings from(Settings s, Map<String, Program> programs) {
        Map<String, VoucherPlan> plans = new TreeMap<>();
        for (Program p : programs.values()) {
            String prefix = "program." + p.id() + ".";
            String title = s.matching(prefix + "voucherTitle", clip("Reward: " + p.name()), SinkConfig.PROGRAM_NAME,
                    "1 to 80 characters without control characters");
            Duration validity = s.duration(prefix + "voucherValidity", VoucherPlan.DEFAULT_VALIDITY, Duration.ZERO,
                    MAX_VALIDITY);
            if (!validity.isZero() && validity.compareTo(Duration.ofHours(1)) < 0) {
                throw Settings.bad(prefix + "voucherValidity", s.string(prefix + "voucherValidity", ""),
                        "0d (no end), or at least 1h, up to 3650d");
            }
            plans.put(p.id(), new VoucherPlan(title, validity));
        }
        String file = s.string("vouchers.posCodes", null);
        Path posCodes = null;
        if (file != null) {
            try {
                posCodes = Path.of(file);
            } catch (InvalidPathException e) {
                throw Settings.bad("vouchers.posCodes", file, "the path of a text file with one till code per line");
            }
            if (!Files.isRegularFile(posCodes) || !Files.isReadable(posCodes)) {
                throw new ConfigException("vouchers.posCodes: '" + file + "' is not a readable file; allowed: the path of "
                        + "a text file with one till code per line (the codes the shop's till accepts)");
            }
        }
        int low = s.integer("vouchers.poolLowWarning", 20, 0, 1_000_000);
        return new VoucherSettings(plans, posCodes, low);
    }

    private static String clip(String title) {
        return title.length() <= 80 ? title : title.substring(0, 80);
    }
}
