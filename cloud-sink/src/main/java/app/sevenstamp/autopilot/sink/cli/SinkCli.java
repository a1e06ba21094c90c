package app.sevenstamp.autopilot.sink.cli;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.JournalConsoleWriter;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.sink.cards.CardIssuer;
import app.sevenstamp.autopilot.sink.cards.QrPng;
import app.sevenstamp.autopilot.sink.cards.SigningKey;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.fleet.FleetCli;
import app.sevenstamp.autopilot.sink.join.Poster;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.StoreException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.tinylog.Logger;

/**
 * The sink's command line. Results go to stdout (one item per line, for scripts); logs and errors
 * to stderr. Exit status: 0 ok, 2 unknown program, 64 bad usage, 70 internal error, 74 I/O or
 * database error, 78 configuration error (the sysexits.h numbers systemd and scripts know).
 */
public final class SinkCli {
    public static final int OK = 0;
    public static final int UNKNOWN_PROGRAM = 2;
    /** The sink refused an operator's correction (it would not make sense); the reason is printed. */
    public static final int REFUSED = 3;
    public static final int USAGE = 64;
    public static final int SOFTWARE = 70;
    public static final int IO = 74;
    public static final int CONFIG = 78;

    static final String USAGE_TEXT = String.join("\n",
            "usage: autopilot-sink <command> --config FILE",
            "commands:",
            "  serve --config FILE",
            "      run the sink until SIGTERM or SIGINT",
            "  cards issue --program P [--count N] [--qr FILE.png] --config FILE",
            "      print N (default 1, at most 1000) new signed card codes, one per line;",
            "      --qr also writes the first one as a QR code PNG",
            "  keys show --config FILE",
            "      print the trusted-key line (keyId:publicKey) for the gateways' cards.trustedKeys",
            "  programs list --config FILE",
            "      print the configured programs: id, stamps required, name",
            "  program poster --program P --out FILE.pdf|FILE.png --config FILE",
            "      write the counter poster: the program's name and a QR code of its join page (web.publicUrl)",
            "  devices list|show ID|config set ID key=value...|cmd ID COMMAND [ARG]|revoke ID --config FILE [--url URL]",
            "      fleet management through the running sink's HTTP API (admin.tokenFile)",
            "  claims create --location L [--uses N] [--expires 7d] --config FILE [--url URL] | claims list",
            "      create a provisioning claim and print its token",
            LedgerCommand.USAGE,
            VoucherCommand.USAGE,
            OperatorCommand.USAGE,
            WalletCommand.USAGE,
            app.sevenstamp.autopilot.sink.update.UpdateCli.USAGE,
            "The card signing key file (keys.file) is created on first use with mode 600.",
            "");

    private final PrintStream out;
    private final PrintStream err;
    private final java.io.InputStream in;
    private final Serve serve;

    /**
     * What {@code serve} runs: the sink itself, which this package does not know (the root package wires
     * the sink and depends on this one, not the other way round).
     */
    @FunctionalInterface
    public interface Serve {
        /** Runs the sink until the JVM shuts down; prints the ready line to {@code out}. */
        int serve(SinkConfig config, PrintStream out) throws InterruptedException;
    }

    /** The commands other than {@code serve}, which this CLI then refuses with a usage error. */
    public SinkCli(PrintStream out, PrintStream err) {
        this(out, err, System.in, null);
    }

    /**
     * @param in    where {@code operators add} reads a password when no terminal asks for it
     * @param serve what {@code serve} runs; null when this CLI only runs the other commands
     */
    public SinkCli(PrintStream out, PrintStream err, java.io.InputStream in, Serve serve) {
        this.out = out;
        this.err = err;
        this.in = in;
        this.serve = serve;
    }

    /** Runs a command; {@code serve} returns only after the JVM began to shut down. */
    public int run(String[] args) {
        try {
            return dispatch(args);
        } catch (UsageException e) {
            err.println("autopilot-sink: " + e.getMessage());
            err.print(USAGE_TEXT);
            return USAGE;
        } catch (ConfigException e) {
            err.println(errorLine("autopilot-sink: configuration error: " + e.getMessage()));
            return CONFIG;
        } catch (StoreException | UncheckedIOException e) {
            err.println("autopilot-sink: " + e.getMessage());
            return IO;
        } catch (IOException e) {
            err.println("autopilot-sink: " + e.getMessage());
            return IO;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return SOFTWARE;
        } catch (RuntimeException e) {
            Logger.error(e, "unexpected failure");
            err.println("autopilot-sink: internal error: " + e);
            return SOFTWARE;
        }
    }

    /**
     * An error line, with the journal's {@code <3>} when it goes to the process's stderr and that is the
     * journal (under the unit): else {@code serve}'s configuration error would be logged at info.
     */
    private String errorLine(String message) {
        return err == System.err ? JournalConsoleWriter.errorLine(message) : message;
    }

    private int dispatch(String[] argv) throws UsageException, IOException, InterruptedException {
        if (argv.length == 0) {
            throw new UsageException("a command is required");
        }
        if (List.of("help", "--help", "-h").contains(argv[0])) {
            out.print(USAGE_TEXT);
            return OK;
        }
        String[] rest = Arrays.copyOfRange(argv, 1, argv.length);
        switch (argv[0]) {
            case "serve": {
                Args a = Args.parse(rest, Set.of("config"));
                noMoreWords(a, 0, "serve");
                SinkConfig config = config(a, true);
                if (serve == null) {
                    throw new UsageException("serve: run the sink with java -jar autopilot-sink.jar serve");
                }
                return serve.serve(config, out);
            }
            case "cards": {
                Args a = Args.parse(rest, Set.of("config", "program", "count", "qr"));
                subcommand(a, "issue", "cards");
                return issue(a);
            }
            case "keys": {
                Args a = Args.parse(rest, Set.of("config"));
                subcommand(a, "show", "keys");
                SinkConfig config = config(a, false);
                out.println(SigningKey.loadOrCreate(config.keysFile(), config.keyId()).trustedKeyLine());
                return OK;
            }
            case "program":
            case "programs": {
                if (rest.length > 0 && rest[0].equals("poster")) {
                    Args a = Args.parse(rest, Set.of("config", "program", "out"));
                    subcommand(a, "poster", argv[0]);
                    return poster(a);
                }
                Args a = Args.parse(rest, Set.of("config"));
                subcommand(a, "list", "programs");
                SinkConfig config = config(a, true);
                SigningKey.loadOrCreate(config.keysFile(), config.keyId());
                for (Program p : config.programs().values()) {
                    out.println(p.id() + "\t" + p.stampsRequired() + "\t" + p.name());
                }
                return OK;
            }
            case "devices": {
                Args a = Args.parse(rest, Set.of("config", "url"));
                return fleetCommand(a, cli -> cli.devices(a.words()));
            }
            case "claims": {
                Args a = Args.parse(rest, Set.of("config", "url", "location", "uses", "expires"));
                return fleetCommand(a, cli -> cli.claims(a.words(), a.option("location"), a.integer("uses", 1, 1, 100_000),
                        a.option("expires") == null ? "7d" : a.option("expires")));
            }
            case "ledger": {
                Args a = Args.parse(rest, Set.of("config", "card", "stamps", "rewards", "reason", "operator"));
                return new LedgerCommand(out, err).run(a, config(a, true));
            }
            case "vouchers": {
                Args a = Args.parse(rest, Set.of("config", "title", "reason", "card", "card-code", "valid", "from",
                        "location", "operator", "qr", "code128"));
                return new VoucherCommand(out, err).run(a, config(a, true));
            }
            case "operators": {
                Args a = Args.parse(rest, Set.of("config", "role", "locations"));
                return new OperatorCommand(out, err, in).run(a, config(a, true));
            }
            case "update": {
                Args a = Args.parse(rest, Set.of("config", "deb", "version", "url", "stage", "url-api"));
                String sub = a.words().isEmpty() ? "" : a.words().get(0);
                SinkConfig config = config(a, false);
                if (sub.equals("key")) {
                    out.println(app.sevenstamp.autopilot.protocol.UpdateManifest.base64(
                            app.sevenstamp.autopilot.protocol.support.Ed25519.publicKeyOf(SigningKey.loadOrCreate(config.keysFile(),
                                    config.keyId()).derivedKey(app.sevenstamp.autopilot.sink.update.UpdateService.KEY_PURPOSE))));
                    return OK;
                }
                try {
                    var cli = new app.sevenstamp.autopilot.sink.update.UpdateCli(config, a.option("url-api"), out);
                    switch (sub) {
                        case "publish":
                            return cli.publish(Path.of(a.required("deb", "FILE")), a.required("version", "V"), a.required("url", "URL"));
                        case "rollout":
                            return cli.rollout(a.required("version", "V"), a.required("stage", "one:ID|percent:N|all"));
                        case "status":
                            return cli.status();
                        default:
                            throw new UsageException("update: one of key, publish, rollout, status");
                    }
                } catch (IllegalArgumentException e) {
                    err.println("autopilot-sink: " + e.getMessage());
                    return 1;
                }
            }
            case "wallet": {
                Args a = Args.parse(rest, Set.of("config"));
                return new WalletCommand(out, java.time.Clock.systemUTC()).run(a, config(a, true));
            }
            default:
                throw new UsageException("unknown command '" + argv[0] + "'");
        }
    }

    /** The operator's token for a command that calls the running sink; a clear error where it cannot be read. */
    private interface FleetCommand {
        int run(FleetCli cli) throws IOException, InterruptedException, UsageException;
    }

    private int fleetCommand(Args a, FleetCommand command) throws UsageException, IOException, InterruptedException {
        SinkConfig config = config(a, false);
        try {
            return command.run(new FleetCli(config, a.option("url"), out));
        } catch (IllegalArgumentException e) {
            err.println("autopilot-sink: " + e.getMessage());
            return 1;
        }
    }

    private int issue(Args a) throws UsageException, IOException {
        String programId = a.required("program", "P");
        int count = a.integer("count", 1, 1, 1000);
        String qr = a.option("qr");
        SinkConfig config = config(a, true);
        SigningKey key = SigningKey.loadOrCreate(config.keysFile(), config.keyId());
        Program program = config.program(programId).orElse(null);
        if (program == null) {
            err.println("autopilot-sink: unknown program '" + programId + "'; configured programs: "
                    + String.join(", ", config.programs().keySet()));
            return UNKNOWN_PROGRAM;
        }
        CardIssuer issuer = new CardIssuer(key.signer(), new SecureRandom());
        List<String> codes = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            codes.add(issuer.issue(program));
        }
        if (qr != null) {
            QrPng.write(codes.get(0), Path.of(qr));
        }
        codes.forEach(out::println);
        out.flush();
        return OK;
    }

    private int poster(Args a) throws UsageException, IOException {
        String programId = a.required("program", "P");
        String outText = a.required("out", "FILE.pdf|FILE.png");
        Poster.Format format = Poster.Format.ofFileName(outText);
        if (format == null) {
            throw new UsageException("--out '" + outText + "': the file name must end in .pdf or .png");
        }
        SinkConfig config = config(a, true);
        Program program = config.program(programId).orElse(null);
        if (program == null) {
            err.println("autopilot-sink: unknown program '" + programId + "'; configured programs: "
                    + String.join(", ", config.programs().keySet()));
            return UNKNOWN_PROGRAM;
        }
        String url = config.join().joinUrl(programId);
        if (url == null) {
            throw new ConfigException("web.publicUrl: not set; the poster's QR code leads to <web.publicUrl>/join/"
                    + programId + ", so set the address customers' phones reach this sink at, for example "
                    + "web.publicUrl=https://stamps.example.com");
        }
        Path out = Path.of(outText).toAbsolutePath();
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.write(out, Poster.render(program, url, format));
        this.out.println(out);
        this.out.flush();
        return OK;
    }


    private static SinkConfig config(Args a, boolean requirePrograms) throws UsageException {
        Path file = Path.of(a.required("config", "FILE"));
        return SinkConfig.from(Settings.load(file), requirePrograms);
    }

    private static void subcommand(Args a, String expected, String command) throws UsageException {
        if (a.words().isEmpty() || !a.words().get(0).equals(expected)) {
            throw new UsageException("'" + command + "' needs the subcommand '" + expected + "'");
        }
        noMoreWords(a, 1, command + " " + expected);
    }

    private static void noMoreWords(Args a, int expected, String command) throws UsageException {
        if (a.words().size() > expected) {
            throw new UsageException("unexpected argument '" + a.words().get(expected) + "' after '" + command + "'");
        }
    }
}
