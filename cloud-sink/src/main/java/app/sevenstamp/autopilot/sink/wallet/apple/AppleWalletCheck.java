package app.sevenstamp.autopilot.sink.wallet.apple;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.sink.config.AppleWalletSettings;
import app.sevenstamp.autopilot.sink.wallet.WalletFinding;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code wallet check} says of Apple Wallet: one line per fact, {@code ok} or {@code problem}, so an
 * operator sees what is missing or expiring before a customer does: the certificates' dates, the key
 * matching the certificate, the WWDR intermediate having issued it, pass type and team in its subject.
 */
public final class AppleWalletCheck {
    private AppleWalletCheck() {
    }

    public static List<WalletFinding> check(AppleWalletSettings s, Instant now) {
        List<WalletFinding> out = new ArrayList<>();
        if (!s.enabled()) {
            out.add(WalletFinding.ok("apple", "off: wallet.apple.passTypeId is not set; the join page offers no Apple Wallet pass "
                    + "(docs/wallet.md, \"Apple Wallet\")"));
            return out;
        }
        out.add(WalletFinding.ok("apple", "pass type " + s.passTypeId() + ", team " + s.teamId() + ", web service "
                + s.webServiceUrl() + "/passkit, APNs " + s.apnsUrl()));
        PassCredentials c;
        try {
            c = PassCredentials.load(s);
        } catch (ConfigException e) {
            out.add(WalletFinding.problem("apple", e.getMessage()));
            return out;
        }
        List<String> problems = c.problems(s.passTypeId(), s.teamId(), now);
        out.add(WalletFinding.ok("apple", "pass certificate " + c.certificate().getSubjectX500Principal().getName() + ", valid until "
                + c.notAfter() + " (" + Duration.between(now, c.notAfter()).toDays() + " days)"));
        out.add(WalletFinding.ok("apple", "WWDR certificate " + c.wwdr().getSubjectX500Principal().getName() + ", valid until "
                + c.wwdr().getNotAfter().toInstant()));
        for (String p : problems) {
            out.add(WalletFinding.problem("apple", p));
        }
        if (problems.stream().noneMatch(p -> p.startsWith("the private key"))) {
            out.add(WalletFinding.ok("apple", "the private key belongs to the pass certificate"));
        }
        if (problems.stream().noneMatch(p -> p.contains("not issued by the WWDR"))) {
            out.add(WalletFinding.ok("apple", "the WWDR certificate issued the pass certificate"));
        }
        return out;
    }
}
