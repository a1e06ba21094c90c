package app.sevenstamp.autopilot.sink.update;

import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.UpdateManifest;
import app.sevenstamp.autopilot.protocol.UpdateReport;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.Ed25519;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import app.sevenstamp.autopilot.sink.fleet.FleetService;
import app.sevenstamp.autopilot.sink.update.UpdateBook.Release;
import app.sevenstamp.autopilot.sink.update.UpdateBook.Row;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * Staged box updates: publish a version (its .deb's URL, SHA-256 and size), roll it out to one box, a percentage of
 * the boxes or all of them, and follow each box's state from its status. Each box gets its own manifest, signed with
 * the sink's update key, over its command topic; a box that is offline gets it when its next status arrives, and a
 * box that has not answered within {@link #RESEND} gets it again. A box's state moves only by its own report:
 * pending, downloading, installing, then healthy, failed or rolled-back.
 *
 * <p>Threads: {@link #onStatus} runs on the fleet thread; the operations on HTTP threads. Both only touch the
 * database (one transaction each) and hand publishes to the fleet's MQTT client.
 */
public final class UpdateService {
    /** A pending box that has not reported the version this long after it was sent gets its manifest again. */
    static final Duration RESEND = Duration.ofMinutes(10);
    /**
     * The update key is derived from the card signing key under this purpose ({@code SigningKey.derivedKey}): one
     * secret file to back up, and a key that signs nothing but update manifests.
     */
    public static final String KEY_PURPOSE = "gateway-update-signing";
    private static final Pattern STAGE = Pattern.compile("one:(.+)|percent:([0-9]{1,3})|all");

    private final UpdateBook book;
    private final FleetService fleet;
    private final byte[] seed;
    private final Clock clock;
    private final WireCodec codec = new WireCodec();

    /** @param seed the update key's 32-byte Ed25519 seed */
    public UpdateService(UpdateBook book, FleetService fleet, byte[] seed, Clock clock) {
        this.book = book;
        this.fleet = fleet;
        this.seed = seed.clone();
        this.clock = clock;
    }

    /** The line boxes put into {@code update.trustedKey}: the update key's public key, base64url. */
    public String trustedKey() {
        return UpdateManifest.base64(Ed25519.publicKeyOf(seed));
    }

    public UpdateBook book() {
        return book;
    }

    /**
     * Publishes a version. The URL, hash and size are checked as a manifest would be.
     *
     * @throws IllegalArgumentException a malformed field
     * @throws IllegalStateException    the version is published already with another file
     */
    public Release publish(String version, String url, String sha256, long size) {
        new UpdateManifest(WireCodec.SCHEMA, "check", version, url, sha256, size, null); // validates every field
        Release r = new Release(version, url, sha256, size, clock.instant());
        if (!book.publish(r)) {
            Release old = book.release(version).orElseThrow();
            if (old.sha256().equals(sha256) && old.url().equals(url) && old.size() == size) {
                return old;
            }
            throw new IllegalStateException("version " + version + " is published already with another file ("
                    + old.sha256() + " at " + old.url() + "); publish the new file as a new version");
        }
        Logger.info("update: version {} published: {} ({} bytes, sha256 {})", version, url, size, sha256);
        return r;
    }

    /** The boxes a stage takes, in the device order of the registry; revoked boxes never. */
    public List<Device> select(String stage) {
        Matcher m = STAGE.matcher(stage == null ? "" : stage);
        if (!m.matches()) {
            throw new IllegalArgumentException("stage '" + stage + "': one of one:DEVICE_ID, percent:N (1..100), all");
        }
        List<Device> devices = fleet.registry().devices().stream().filter(d -> !d.revoked()).toList();
        if (m.group(1) != null) {
            List<Device> one = devices.stream().filter(d -> d.deviceId().equals(m.group(1))).toList();
            if (one.isEmpty()) {
                throw new IllegalArgumentException("stage '" + stage + "': no such device (or it is revoked)");
            }
            return one;
        }
        if (m.group(2) != null) {
            int percent = Integer.parseInt(m.group(2));
            if (percent < 1 || percent > 100) {
                throw new IllegalArgumentException("stage '" + stage + "': the percentage is 1..100");
            }
            return devices.stream().filter(d -> bucket(d.deviceId()) < percent).toList();
        }
        return devices;
    }

    /**
     * Where a box falls in percentage stages, 0..99, from a hash of its id: the same boxes every time, and a larger
     * percentage takes the boxes of a smaller one and more.
     */
    public static int bucket(String deviceId) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(deviceId.getBytes(StandardCharsets.UTF_8));
            return (((h[0] & 0xff) << 8) | (h[1] & 0xff)) % 100;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Adds the stage's boxes to the version's rollout and sends the manifest to those online; returns the boxes
     * newly added. Boxes in the rollout already keep their state (a failed box is not retried by a wider stage).
     */
    public List<String> rollout(String version, String stage) {
        Release r = book.release(version).orElseThrow(() -> new IllegalArgumentException("version " + version
                + " is not published; publish it first (update publish)"));
        Instant now = clock.instant();
        List<String> added = new ArrayList<>();
        for (Device d : select(stage)) {
            if (book.enrol(d.deviceId(), version, stage, now)) {
                added.add(d.deviceId());
                if (d.online()) {
                    send(d.deviceId(), r);
                }
            }
        }
        Logger.info("update: stage {} of version {}: {} box(es) added", stage, version, added.size());
        return added;
    }

    /** A box's status (fleet thread): its report moves its row; a pending box that is online gets its manifest. */
    public void onStatus(String deviceId, DeviceStatus s) {
        try {
            UpdateReport u = s.update();
            if (u != null && book.report(deviceId, u.version(), u.state(), u.detail(), clock.instant())) {
                Logger.info("update: {} reports version {} {}{}", deviceId, u.version(), u.state(),
                        u.detail() == null ? "" : ": " + u.detail());
            }
            if (!s.online()) {
                return;
            }
            Instant now = clock.instant();
            for (Row row : book.rowsOf(deviceId)) {
                // pending; or under way and the box no longer says so (it restarted during the download): send again
                boolean open = row.state().equals("pending") || ((row.state().equals("downloading") || row.state().equals("installing"))
                        && (u == null || !u.version().equals(row.version())));
                if (open && (row.sentAt() == null || row.sentAt().plus(RESEND).isBefore(now))) {
                    book.release(row.version()).ifPresent(r -> send(deviceId, r));
                }
            }
        } catch (RuntimeException e) {
            Logger.warn("update: the status of {} not taken: {}", deviceId, e.toString());
        }
    }

    private void send(String deviceId, Release r) {
        UpdateManifest m = new UpdateManifest(WireCodec.SCHEMA, deviceId, r.version(), r.url(), r.sha256(), r.size(), null)
                .signedWith(seed);
        try {
            fleet.sendUpdate(deviceId, r.version(), new String(codec.encode(m), StandardCharsets.UTF_8));
            book.sent(deviceId, r.version(), clock.instant());
        } catch (RuntimeException e) {
            Logger.warn("update: manifest of {} for {} not sent now ({}); again at its next status", r.version(), deviceId,
                    e.getMessage());
        }
    }
}
