package app.sevenstamp.autopilot.protocol.testing;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import java.util.regex.Pattern;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.MethodFilter;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * What {@code scripts/fuzz} runs for one target ({@code package.Class#method}) with {@code JAZZER_FUZZ=1}: the
 * JUnit platform in this JVM, without Maven. Jazzer fuzzes one target per JVM, so each target needs a JVM of its
 * own; a Maven run for each spent 20 to 30 s of its 40 before the first input (CI, 4 Dec). Exit status 0 only
 * when the target ran and passed.
 */
public final class FuzzOne {
    private FuzzOne() {
    }

    public static void main(String[] args) {
        if (args.length != 1 || !args[0].matches("[\\w.$]+#\\w+")) {
            System.err.println("usage: FuzzOne package.Class#method");
            System.exit(64);
        }
        String[] target = args[0].split("#");
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        // the method by name (Class#method, as the filter names a method: no parameter list), of its class
        launcher.execute(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(target[0]))
                .filters(MethodFilter.includeMethodNamePatterns(Pattern.quote(args[0]))).build(), summary);
        TestExecutionSummary result = summary.getSummary();
        result.printTo(new PrintWriter(System.out));
        result.printFailuresTo(new PrintWriter(System.out), 40);
        boolean ran = result.getTestsSucceededCount() + result.getTestsFailedCount() > 0;
        if (!ran) {
            System.out.println("FuzzOne: no test ran for " + args[0]);
        }
        System.exit(ran && result.getTotalFailureCount() == 0 ? 0 : 1);
    }
}
