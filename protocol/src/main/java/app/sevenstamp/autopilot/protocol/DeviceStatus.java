package app.sevenstamp.autopilot.protocol;

import java.time.Instant;
import java.util.Objects;

/**
 * The gateway's retained status. The last will publishes the same record with {@code online=false}
 * and only the identity fields set.
 *
 * @param schema             wire schema version
 * @param deviceId           the gateway
 * @param online             false only in the last will and in the goodbye at a clean stop
 * @param at                 the gateway's wall-clock time of this status
 * @param version            the gateway software version
 * @param configVersion      the version of the configuration it runs
 * @param uptimeSeconds      seconds since the daemon started
 * @param backlog            stamp events stored and not yet acknowledged by the sink
 * @param oldestUnsentAgeSeconds age of the oldest of them, 0 when none
 * @param scanner            scanner state, for example {@code ready}, {@code lost}
 * @param diskFreeBytes      free bytes on the outbox's file system, -1 when unknown
 * @param cpuTemperatureC    CPU temperature in degrees Celsius; null when unknown (off a Pi, the last will).
 *                           Gateways before this sent the string "NaN", read as null too
 * @param storage            the outbox's alarm state: {@code ok}, {@code near-full} or {@code full}; null when
 *                           not reported (older gateways, the last will)
 * @param rulesVersion       the version of the counter rules the box enforces offline, 0 when it has none yet;
 *                           null when not reported. The sink compares it with what it publishes: a box behind
 *                           judges with old limits.
 * @param voucherCancels     voucher redemptions the box has journalled and still has to cancel (their answer
 *                           came too late; the sink has not confirmed the CANCEL); null when not reported. Above
 *                           0 for long means vouchers stuck as redeemed at the sink.
 * @param droppedScans       scans the box dropped since it started, each answered STORAGE_FAULT, because its scan
 *                           queue was full (the outbox slow or stuck, or a scanner flooding it) or it was stopping;
 *                           null when not reported. Growing means customers are told to scan again.
 * @param update             where the box is with the newest update it was sent ({@link UpdateReport}); null when it
 *                           has none to report (older gateways, the last will)
 */
public record DeviceStatus(
        int schema,
        String deviceId,
        boolean online,
        Instant at,
        String version,
        long configVersion,
        long uptimeSeconds,
        long backlog,
        long oldestUnsentAgeSeconds,
        String scanner,
        long diskFreeBytes,
        Double cpuTemperatureC,
        String storage,
        Long rulesVersion,
        Integer voucherCancels,
        Long droppedScans,
        UpdateReport update) {

    public DeviceStatus {
        Objects.requireNonNull(deviceId, "deviceId");
        if (cpuTemperatureC != null && !Double.isFinite(cpuTemperatureC)) {
            cpuTemperatureC = null;
        }
    }

    /** A status without {@code update} (not reported), as gateways before it sent. */
    public DeviceStatus(int schema, String deviceId, boolean online, Instant at, String version, long configVersion,
            long uptimeSeconds, long backlog, long oldestUnsentAgeSeconds, String scanner, long diskFreeBytes,
            Double cpuTemperatureC, String storage, Long rulesVersion, Integer voucherCancels, Long droppedScans) {
        this(schema, deviceId, online, at, version, configVersion, uptimeSeconds, backlog, oldestUnsentAgeSeconds,
                scanner, diskFreeBytes, cpuTemperatureC, storage, rulesVersion, voucherCancels, droppedScans, null);
    }

    /** A status without {@code droppedScans} (not reported), as gateways before it sent. */
    public DeviceStatus(int schema, String deviceId, boolean online, Instant at, String version, long configVersion,
            long uptimeSeconds, long backlog, long oldestUnsentAgeSeconds, String scanner, long diskFreeBytes,
            Double cpuTemperatureC, String storage, Long rulesVersion, Integer voucherCancels) {
        this(schema, deviceId, online, at, version, configVersion, uptimeSeconds, backlog, oldestUnsentAgeSeconds,
                scanner, diskFreeBytes, cpuTemperatureC, storage, rulesVersion, voucherCancels, null, null);
    }

    /** A status without the fields added later in schema 1 (absent means not reported): the last will's shape. */
    public DeviceStatus(int schema, String deviceId, boolean online, Instant at, String version, long configVersion,
            long uptimeSeconds, long backlog, long oldestUnsentAgeSeconds, String scanner, long diskFreeBytes,
            Double cpuTemperatureC) {
        this(schema, deviceId, online, at, version, configVersion, uptimeSeconds, backlog, oldestUnsentAgeSeconds,
                scanner, diskFreeBytes, cpuTemperatureC, null, null, null, null, null);
    }
}
