package app.sevenstamp.autopilot.gateway.feedback;

import static app.sevenstamp.autopilot.gateway.feedback.Output.BUZZER;
import static app.sevenstamp.autopilot.gateway.feedback.Output.GREEN;
import static app.sevenstamp.autopilot.gateway.feedback.Output.RED;

import java.util.ArrayList;
import java.util.List;

/**
 * The pattern for each signal, told apart by ear first (staff rarely look): one short beep is the only
 * sound that means "stamped, online"; two short beeps "stamped, offline"; one long 400 ms beep with red
 * is a reject; three beeps with blinking green a reward; a lost scanner blinks red without sound (no
 * customer is waiting on it); a storage fault sounds three long beeps. A later issue tunes them on
 * real hardware.
 */
public final class Patterns {
    private Patterns() {
    }

    public static Pattern forSignal(Signal signal) {
        return switch (signal) {
            case ACCEPTED -> new Pattern("accepted", List.of(
                    Step.of(80, GREEN, BUZZER),
                    Step.of(70, GREEN)));
            case ACCEPTED_OFFLINE -> new Pattern("accepted-offline", List.of(
                    Step.of(40, GREEN, BUZZER),
                    Step.of(50, GREEN),
                    Step.of(40, GREEN, BUZZER),
                    Step.of(20, GREEN)));
            case REJECTED -> new Pattern("rejected", List.of(
                    Step.of(400, RED, BUZZER)));
            case REWARD_DUE -> new Pattern("reward-due", repeat(3, Step.of(120, GREEN, BUZZER), Step.of(120)));
            case SCANNER_LOST -> new Pattern("scanner-lost", repeat(2, Step.of(250, RED), Step.of(250)));
            case STORAGE_FAULT -> new Pattern("storage-fault", repeat(3, Step.of(300, RED, BUZZER), Step.of(150, RED)));
            case STORAGE_NEAR_FULL -> new Pattern("storage-near-full", repeat(3, Step.of(150, RED), Step.of(150, GREEN)));
        };
    }

    private static List<Step> repeat(int times, Step... steps) {
        List<Step> out = new ArrayList<>();
        for (int i = 0; i < times; i++) {
            out.addAll(List.of(steps));
        }
        return out;
    }
}
