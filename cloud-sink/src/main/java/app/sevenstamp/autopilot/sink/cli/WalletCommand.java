package app.sevenstamp.autopilot.sink.cli;

import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.wallet.WalletFinding;
import app.sevenstamp.autopilot.sink.wallet.apple.AppleWalletCheck;
import app.sevenstamp.autopilot.sink.wallet.google.GoogleWalletCheck;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code wallet check}: what the Apple and Google Wallet settings lack, what expires soon, and whether
 * Google gives the service account a token; exit 0 when nothing is wrong. A wallet that is not set up is
 * said plainly but is no problem (a shop may offer only one); neither set up is, since the command exists
 * to get one working.
 */
final class WalletCommand {
    static final String USAGE = String.join("\n",
            "  wallet check --config FILE",
            "      check the wallet settings: Apple certificates' dates, key matching certificate, WWDR present;",
            "      Google service account file, its key, a token from Google's endpoint (no change made at Google);",
            "      exit 0 when all is well, 3 when something is missing, wrong or expiring within 30 days");

    private final PrintStream out;
    private final Clock clock;
    private final HttpClient http;

    WalletCommand(PrintStream out, Clock clock) {
        this.out = out;
        this.clock = clock;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    int run(Args a, SinkConfig config) throws UsageException {
        if (a.words().size() != 1 || !a.words().get(0).equals("check")) {
            throw new UsageException("wallet: the subcommand is 'check'");
        }
        List<WalletFinding> findings = new ArrayList<>(AppleWalletCheck.check(config.appleWallet(), clock.instant()));
        findings.addAll(GoogleWalletCheck.run(config.google(), http, clock));
        if (!config.appleWallet().enabled() && !config.google().enabled()) {
            findings.add(WalletFinding.problem("wallets", "neither Apple nor Google Wallet is set up: customers get the web "
                    + "card only (docs/wallet.md)"));
        }
        findings.forEach(out::println);
        return WalletFinding.allOk(findings) ? SinkCli.OK : SinkCli.REFUSED;
    }
}
