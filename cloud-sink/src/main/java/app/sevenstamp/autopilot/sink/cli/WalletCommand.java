package app.sevenstamp.autopilot.sink.cli;

import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.wallet.apple.AppleWalletCheck;
import java.io.PrintStream;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/** {@code wallet check}: what the wallet settings lack or what expires soon; exit 0 when nothing is wrong. */
final class WalletCommand {
    static final String USAGE = String.join("\n",
            "  wallet check --config FILE",
            "      check the wallet settings: certificates' dates, key matching certificate, WWDR present;",
            "      exit 0 when all is well, 3 when something is missing, wrong or expiring within 30 days");

    private final PrintStream out;
    private final Clock clock;

    WalletCommand(PrintStream out, Clock clock) {
        this.out = out;
        this.clock = clock;
    }

    int run(Args a, SinkConfig config) throws UsageException {
        if (a.words().size() != 1 || !a.words().get(0).equals("check")) {
            throw new UsageException("wallet: the subcommand is 'check'");
        }
        List<AppleWalletCheck.Line> lines = new ArrayList<>(AppleWalletCheck.check(config.appleWallet(), clock.instant()));
        boolean ok = true;
        for (AppleWalletCheck.Line l : lines) {
            out.println(l);
            ok &= l.ok();
        }
        return ok ? SinkCli.OK : SinkCli.REFUSED;
    }
}
