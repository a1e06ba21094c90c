package app.sevenstamp.autopilot.gateway.update;

import app.sevenstamp.autopilot.gateway.config.UpdateSettings;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.UpdateManifest;
import app.sevenstamp.autopilot.protocol.UpdateReport;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * The root side of an update ({@code 7stamp-gateway-update.service}, started by its path unit when the gateway
 * queued a request): {@code java -cp autopilot-gateway.jar ...UpdateHelper --config /etc/7stamp-autopilot/gateway.properties}.
 *
 * <p>It trusts nothing the gateway's user can write: it reads the trusted key and its commands from the
 * configuration file (root's), copies the queued .deb into its own directory first and checks that copy against the
 * signed manifest (signature, device, size, SHA-256, the package's own name and version, no downgrade). Then it keeps
 * the installed version's .deb for the rollback (rebuilt from dpkg's database the first time), installs, restarts,
 * and waits up to {@code update.healthTimeout} for the new gateway's health mark. Without it, it reinstalls the
 * previous .deb, restarts, and reports {@code rolled-back} with the reason. Exit 0 whatever the outcome (the result
 * file says it); 1 for a helper that could not do its job at all.
 */
public final class UpdateHelper {
    /** Rebuilds the installed package as a .deb from dpkg's database ($1 package, $2 output file), as dpkg-repack does. */
    static final String REPACK = String.join("\n",
            "set -eu",
            "pkg=\"$1\"; out=\"$2\"; tree=$(mktemp -d); trap 'rm -rf \"$tree\"' EXIT",
            // mktemp's 700 would become the mode of / when the package is installed
            "chmod 755 \"$tree\"; mkdir \"$tree/DEBIAN\"",
            "dpkg-query -W -f='Package: ${Package}\\nVersion: ${Version}\\nArchitecture: ${Architecture}\\nMaintainer: ${Maintainer}\\n"
                    + "Installed-Size: ${Installed-Size}\\nPre-Depends: ${Pre-Depends}\\nDepends: ${Depends}\\nRecommends: ${Recommends}\\n"
                    + "Section: ${Section}\\nPriority: ${Priority}\\nDescription: ${Description}\\n' \"$pkg\" | grep -v -E '^[A-Za-z-]+: ?$' > \"$tree/DEBIAN/control\"",
            "for s in preinst postinst prerm postrm conffiles; do f=/var/lib/dpkg/info/$pkg.$s; if [ -f \"$f\" ]; then cp -p \"$f\" \"$tree/DEBIAN/$s\"; fi; done",
            "dpkg-query -L \"$pkg\" | while IFS= read -r f; do",
            // a directory first: on merged-/usr systems /bin and /lib are links the package lists as directories
            "  if [ -d \"$f\" ]; then mkdir -p \"$tree$f\";",
            "  elif [ -L \"$f\" ]; then mkdir -p \"$tree$(dirname \"$f\")\"; cp -P \"$f\" \"$tree$f\";",
            "  elif [ -f \"$f\" ]; then mkdir -p \"$tree$(dirname \"$f\")\"; cp -p \"$f\" \"$tree$f\"; fi",
            "done",
            "dpkg-deb --root-owner-group -b \"$tree\" \"$out\" >/dev/null",
            "");

    private final UpdateSettings settings;
    private final Spool spool;
    private final String deviceId;
    private final Path keep;
    private final WireCodec codec = new WireCodec();

    public UpdateHelper(UpdateSettings settings, Path stateDir, String deviceId) {
        this.settings = settings;
        this.spool = new Spool(stateDir);
        this.deviceId = deviceId;
        this.keep = settings.keepDir();
    }

    public static void main(String[] args) {
        if (args.length != 2 || !args[0].equals("--config")) {
            System.err.println("usage: java -cp autopilot-gateway.jar " + UpdateHelper.class.getName() + " --config FILE");
            System.exit(64);
        }
        int code;
        try {
            code = fromConfig(Path.of(args[1])).run();
        } catch (RuntimeException | IOException e) {
            Logger.error("update helper: {}", e.getMessage());
            code = 1;
        } catch (InterruptedException e) {
            code = 1;
        }
        try {
            org.tinylog.provider.ProviderRegistry.getLoggingProvider().shutdown();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.exit(code);
    }

    /** The helper as the configuration file (root's) says: update keys, the state directory, the device id. */
    static UpdateHelper fromConfig(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        UpdateSettings u = UpdateSettings.take(p, file.toString());
        Path stateDir = Path.of(p.getProperty("outbox.dir", "./data/gateway").trim());
        // provisioning stores the id in the state directory; a box configured by hand has it in the file
        String id = p.getProperty("device.id");
        Path identity = stateDir.resolve("identity.properties");
        if (Files.isRegularFile(identity)) {
            Properties i = new Properties();
            try (Reader r = Files.newBufferedReader(identity, StandardCharsets.UTF_8)) {
                i.load(r);
            }
            id = i.getProperty("device.id", id);
        }
        if (id == null) {
            throw new IOException("no device.id in " + file + " nor in " + identity);
        }
        return new UpdateHelper(u, stateDir, id.trim());
    }

    /**
     * Does the queued request, if any, or finishes one a power cut or a kill interrupted. Whatever fails, the
     * request does not stay taken: the path unit would start this again and again.
     */
    public int run() throws IOException, InterruptedException {
        try {
            return runOnce();
        } catch (IOException | RuntimeException e) {
            if (spool.exists(Spool.TAKEN)) {
                spool.result(new UpdateReport(versionTaken(), "failed", "the update helper failed: " + e.getMessage()));
                spool.delete(Spool.TAKEN);
            }
            throw e;
        }
    }

    private String versionTaken() {
        try {
            return codec.decode(spool.bytes(Spool.TAKEN, Spool.SMALL).orElse(new byte[0]), UpdateManifest.class).version();
        } catch (MalformedMessageException e) {
            return "?";
        }
    }

    private int runOnce() throws IOException, InterruptedException {
        if (!Files.exists(spool.dir(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Logger.info("update helper: no update spool at {}", spool.dir());
            return 0;
        }
        spool.requireNoLinks();
        if (!spool.exists(Spool.REQUEST) && spool.exists(Spool.TAKEN)) {
            return recover();
        }
        if (!spool.exists(Spool.REQUEST)) {
            Logger.info("update helper: nothing queued in {}", spool.dir());
            return 0;
        }
        // taken first: the path unit starts this again only for a new request
        Files.move(spool.file(Spool.REQUEST), spool.file(Spool.TAKEN), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
        UpdateManifest m;
        try {
            m = codec.decode(spool.bytes(Spool.TAKEN, Spool.SMALL).orElse(new byte[0]), UpdateManifest.class);
        } catch (MalformedMessageException e) {
            return refuse("?", "the queued manifest is malformed: " + e.getMessage());
        }
        if (!settings.enabled()) {
            return refuse(m.version(), "no update.trustedKey in the configuration file");
        }
        Files.createDirectories(keep);
        Files.setPosixFilePermissions(keep, PosixFilePermissions.fromString("rwx------"));
        Path incoming = keep.resolve("incoming.deb");
        if (!spool.exists(Spool.DEB)) {
            return refuse(m.version(), "no regular file " + Spool.DEB + " in the spool (a symbolic link is not followed)");
        }
        try (var in = Files.newInputStream(spool.file(Spool.DEB), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Files.copy(in, incoming, StandardCopyOption.REPLACE_EXISTING);
        }
        spool.delete(Spool.DEB);
        Optional<String> installed = ManifestCheck.installedVersion(settings.dpkgStatus(), settings.packageName());
        Optional<String> why = ManifestCheck.refusal(m, settings.publicKey(), deviceId, installed);
        if (why.isEmpty()) {
            why = ManifestCheck.fileRefusal(m, incoming);
        }
        if (why.isEmpty()) {
            why = packageRefusal(m, incoming);
        }
        if (why.isPresent()) {
            Files.deleteIfExists(incoming);
            return refuse(m.version(), why.get());
        }
        Path previous = keep.resolve("installed.deb");
        if (installed.isEmpty()) {
            return refuse(m.version(), "package " + settings.packageName() + " is not installed: nothing to update or roll back to");
        }
        String keptVersion = Files.isRegularFile(keep.resolve("installed.version"))
                ? Files.readString(keep.resolve("installed.version")).trim() : "";
        if (!Files.isRegularFile(previous) || !keptVersion.equals(installed.get())) {
            // the version installed before the first update (or by hand since): rebuilt from dpkg's database
            Command.Result r = Command.run(List.of("sh", "-c", REPACK, "sh", settings.packageName(), previous.toString()),
                    Duration.ofMinutes(5));
            if (r.status() != 0) {
                return refuse(m.version(), "cannot keep the installed version " + installed.get() + " for a rollback: " + r.tail());
            }
            Files.writeString(keep.resolve("installed.version"), installed.get());
            Logger.info("update helper: installed version {} kept for a rollback (rebuilt from dpkg's database)", installed.get());
        }

        String token = UUID.randomUUID().toString();
        Properties inflight = new Properties();
        inflight.setProperty("version", m.version());
        inflight.setProperty("token", token);
        spool.delete(Spool.HEALTHY, Spool.RESULT);
        spool.write(Spool.INFLIGHT, inflight);
        Logger.info("update helper: installing version {} over {} (health timeout {} s)", m.version(), installed.get(),
                settings.healthTimeout().toSeconds());
        Command.Result install = shell(settings.installCommand(), incoming);
        String reason;
        if (install.status() != 0) {
            reason = "the install command exited " + install.status() + ": " + install.tail();
        } else {
            shell(settings.restartCommand(), incoming);
            if (awaitHealthy(token)) {
                return healthy(m, installed.get());
            }
            reason = "version " + m.version() + " did not report healthy within " + settings.healthTimeout().toSeconds() + " s";
        }
        return rollBack(m, reason, installed.get());
    }

    /**
     * A run interrupted after the request was taken (power cut, kill): the path unit starts this again because
     * {@code taken.json} is still there. Before the install (no inflight file) nothing changed; after it, the
     * health is judged again (the gateway that started at boot writes its mark) and the kept version reinstalled
     * unless the new one is installed and healthy.
     */
    private int recover() throws IOException, InterruptedException {
        UpdateManifest m;
        try {
            m = codec.decode(spool.bytes(Spool.TAKEN, Spool.SMALL).orElse(new byte[0]), UpdateManifest.class);
        } catch (MalformedMessageException e) {
            spool.delete(Spool.TAKEN, Spool.INFLIGHT);
            return 0;
        }
        Optional<Properties> inflight = spool.properties(Spool.INFLIGHT);
        if (inflight.isEmpty()) {
            return refuse(m.version(), "the update helper was interrupted before the install; nothing changed (the sink sends it again)");
        }
        String before = Files.isRegularFile(keep.resolve("installed.version"))
                ? Files.readString(keep.resolve("installed.version")).trim() : "?";
        Logger.warn("update helper: interrupted during the install of {} over {}; judging its health again", m.version(), before);
        Optional<String> installed = ManifestCheck.installedVersion(settings.dpkgStatus(), settings.packageName());
        if (installed.equals(Optional.of(m.version())) && Files.isRegularFile(keep.resolve("incoming.deb"))
                && awaitHealthy(inflight.get().getProperty("token", ""))) {
            return healthy(m, before);
        }
        return rollBack(m, "the update helper was interrupted during the install of " + m.version() + " (dpkg has "
                + installed.orElse("nothing") + ")", before);
    }

    private int healthy(UpdateManifest m, String before) throws IOException {
        Files.move(keep.resolve("incoming.deb"), keep.resolve("installed.deb"), StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(keep.resolve("installed.version"), m.version());
        spool.result(new UpdateReport(m.version(), "healthy", "installed over " + before));
        spool.delete(Spool.INFLIGHT, Spool.TAKEN);
        Logger.info("update helper: version {} is healthy", m.version());
        return 0;
    }

    private int rollBack(UpdateManifest m, String reason, String before) throws IOException, InterruptedException {
        Path previous = keep.resolve("installed.deb");
        // the result first: the gateway that starts next reports it at once
        spool.result(new UpdateReport(m.version(), "rolled-back", reason + "; reinstalled " + before));
        Logger.warn("update helper: {}; reinstalling {}", reason, before);
        Command.Result back = shell(settings.installCommand(), previous);
        if (back.status() != 0) {
            spool.result(new UpdateReport(m.version(), "failed", reason + "; the reinstall of " + before + " exited "
                    + back.status() + ": " + back.tail()));
            Logger.error("update helper: the reinstall of {} failed: {}", before, back.tail());
        }
        // no health mark is awaited any more: the gateway that starts now reports the result, not "installing"
        spool.delete(Spool.INFLIGHT, Spool.TAKEN);
        shell(settings.restartCommand(), previous);
        Files.deleteIfExists(keep.resolve("incoming.deb"));
        return 0;
    }

    /** The .deb's own control fields must name this package and the manifest's version. */
    private Optional<String> packageRefusal(UpdateManifest m, Path deb) throws IOException, InterruptedException {
        Command.Result r = Command.run(List.of("dpkg-deb", "--field", deb.toString(), "Package", "Version"), Duration.ofMinutes(1));
        if (r.status() != 0) {
            return Optional.of("not a Debian package: " + r.tail());
        }
        String expected = "Package: " + settings.packageName() + "\nVersion: " + m.version();
        return r.output().trim().equals(expected) ? Optional.empty()
                : Optional.of("the package says '" + r.output().trim().replace('\n', ' ') + "', the manifest " + expected.replace('\n', ' '));
    }

    private boolean awaitHealthy(String token) throws InterruptedException {
        long deadline = System.nanoTime() + settings.healthTimeout().toNanos();
        while (System.nanoTime() < deadline) {
            if (spool.text(Spool.HEALTHY).filter(token::equals).isPresent()) {
                return true;
            }
            TimeUnit.MILLISECONDS.sleep(500);
        }
        return false;
    }

    private Command.Result shell(String command, Path deb) throws IOException, InterruptedException {
        Command.Result r = Command.run(List.of("sh", "-c", command, "sh", deb.toString()), Duration.ofMinutes(20));
        Logger.info("update helper: `{}` {} exited {}", command, deb.getFileName(), r.status());
        return r;
    }

    private int refuse(String version, String reason) {
        Logger.warn("update helper: version {} refused: {}", version, reason);
        spool.result(new UpdateReport(version, "failed", reason));
        spool.delete(Spool.TAKEN, Spool.DEB);
        return 0;
    }

    /** A command with its output (stdout and stderr), bounded in time. */
    static final class Command {
        record Result(int status, String output) {
            String tail() {
                List<String> lines = output.strip().lines().toList();
                return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
            }
        }

        static Result run(List<String> command, Duration limit) throws IOException, InterruptedException {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[][] out = new byte[1][];
            Thread reader = new Thread(() -> {
                try {
                    out[0] = p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    out[0] = new byte[0];
                }
            }, "update-command-output");
            reader.start();
            if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                reader.join(5000);
                return new Result(124, "timed out after " + limit.toSeconds() + " s");
            }
            reader.join(5000);
            return new Result(p.exitValue(), out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8));
        }
    }
}
