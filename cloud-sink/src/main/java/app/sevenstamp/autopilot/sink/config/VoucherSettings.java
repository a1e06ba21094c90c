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
 * <p>Its keys, their defaults and what they allow: {@link SinkKeys} (and docs/configuration.md).
 */
public record VoucherSettings(Map<String, VoucherPlan> plans, Path posCodes, int poolLowWarning) {
    public VoucherSettings {
        plans = Collections.unmodifiableMap(new TreeMap<>(plans));
    }

    static VoucherSettings from(Settings s, Map<String, Program> programs) {
        Map<String, VoucherPlan> plans = new TreeMap<>();
        for (Program p : programs.values()) {
            String prefix = "program." + p.id() + ".";
            String title = s.matching(prefix + "voucherTitle", clip("Reward: " + p.name()), SinkConfig.PROGRAM_NAME,
                    "1 to 80 characters without control characters");
            Duration validity = s.duration(SinkKeys.program(SinkKeys.PROGRAM_VOUCHER_VALIDITY, prefix));
            if (!validity.isZero() && validity.compareTo(Duration.ofHours(1)) < 0) {
                throw Settings.bad(prefix + "voucherValidity", s.string(prefix + "voucherValidity", ""),
                        "0d (no end), or at least 1h, up to 3650d");
            }
            plans.put(p.id(), new VoucherPlan(title, validity));
        }
        String file = s.string(SinkKeys.VOUCHERS_POS_CODES);
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
        int low = s.integer(SinkKeys.VOUCHERS_POOL_LOW_WARNING);
        return new VoucherSettings(plans, posCodes, low);
    }

    private static String clip(String title) {
        return title.length() <= 80 ? title : title.substring(0, 80);
    }
}
