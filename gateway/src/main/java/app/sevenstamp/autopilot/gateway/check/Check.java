package app.sevenstamp.autopilot.gateway.check;

import java.util.List;

/**
 * One thing {@code autopilot-gateway check} looks at. A check never throws for what it finds: a missing
 * device, a refused login or a full disk is a {@link CheckLine.Status#FAIL} line with what to do.
 */
interface Check {
    List<CheckLine> run();
}
