package app.sevenstamp.autopilot.sink.wallet;

import java.util.List;

/**
 * One line of {@code wallet check}: which wallet, whether it is fine, and what an operator needs to know.
 * Both wallets' checks speak in these, so the command prints one report and decides one exit code.
 */
public record WalletFinding(boolean ok, String wallet, String text) {
    public static WalletFinding ok(String wallet, String text) {
        return new WalletFinding(true, wallet, text);
    }

    public static WalletFinding problem(String wallet, String text) {
        return new WalletFinding(false, wallet, text);
    }

    public static boolean allOk(List<WalletFinding> findings) {
        return findings.stream().allMatch(WalletFinding::ok);
    }

    @Override
    public String toString() {
        return (ok ? "ok       " : "problem  ") + wallet + ": " + text;
    }
}
