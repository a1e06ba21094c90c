package app.sevenstamp.autopilot.sink.wallet.apple;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.sink.config.AppleWalletSettings;
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
    /** One finding. */
    public record Line(boolean ok, String text) {
        @Override
        public String toString() {
            return (ok ? "ok       " : "problem  ") + "apple: " + text;
        }
    }

    private AppleWalletCheck() {
    }

    public static List<Line> check(AppleWalletSettings s, Instant now) {
        List<Line> out = new ArrayList<>();
        if (!s.enabled()) {
            out.add(new Line(true, "off: wallet.apple.passTypeId is not set; the join page offers no Apple Wallet pass "
                    + "(docs/wallet.md, \"Apple Wallet\")"));
            return out;
        }
        out.add(new Line(true, "pass type " + s.passTypeId() + ", team " + s.teamId() + ", web service "
                + s.webServiceUrl() + "/passkit, APNs " + s.apnsUrl()));
        PassCredentials c;
        try {
            c = PassCredentials.load(s);
        } catch (ConfigException e) {
            out.add(new Line(false, e.getMessage()));
            return out;
        }
        List<String> problems = c.problems(s.passTypeId(), s.teamId(), now);
        out.add(new Line(true, "pass certificate " + c.certificate().getSubjectX500Principal().getName() + ", valid until "
                + c.notAfter() + " (" + Duration.between(now, c.notAfter()).toDays() + " days)"));
        out.add(new Line(true, "WWDR certificate " + c.wwdr().getSubjectX500Principal().getName() + ", valid until "
                + c.wwdr().getNotAfter().toInstant()));
        for (String p : problems) {
            out.add(new Line(false, p));
        }
        if (problems.stream().noneMatch(p -> p.startsWith("the private key"))) {
            out.add(new Line(true, "the private key belongs to the pass certificate"));
        }
        if (problems.stream().noneMatch(p -> p.contains("not issued by the WWDR"))) {
            out.add(new Line(true, "the WWDR certificate issued the pass certificate"));
        }
        return out;
    }
}
