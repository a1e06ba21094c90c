package app.sevenstamp.autopilot.gateway.feedback;

import static app.sevenstamp.autopilot.gateway.feedback.Light.AMBER;
import static app.sevenstamp.autopilot.gateway.feedback.Light.BLUE;
import static app.sevenstamp.autopilot.gateway.feedback.Light.GREEN;
import static app.sevenstamp.autopilot.gateway.feedback.Light.OFF;
import static app.sevenstamp.autopilot.gateway.feedback.Light.RED;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The pattern for each case, designed to be told apart by ear first: staff rarely look at the box.
 *
 * <p>Rules (the README's "Feedback" section has the table and the reasoning):
 * <ul>
 * <li>Rhythm carries the meaning, so an active buzzer (one fixed pitch) is enough: <b>short</b> beeps
 *     (at most 120 ms) are good news, <b>long</b> tones (250 ms and more) are "look at this".</li>
 * <li>The count tells which: 1 short = stamped; 2 short = stamped offline; 3 short + 1 long = reward;
 *     1 long = not our card; 2 long = too soon; 3 long slow = scanner lost; a rapid trill = storage fault.</li>
 * <li>Vouchers: 2 + 2 short = voucher redeemed, hand over the reward; 1 long then 2 short on amber = cannot
 *     check now (offline or no answer), nothing redeemed. A refused voucher sounds like "not our card".</li>
 * <li>Pitch is a second cue for passive buzzers: good news near the piezo's loud 2.7 kHz, problems low
 *     (under 1 kHz), a rising arpeggio for a reward, a falling pair for "too soon", a warble for a fault.</li>
 * <li>The light outlasts the sound, so a glance a moment later still catches it.</li>
 * </ul>
 */
public final class Patterns {
    /** Near the resonance of common piezo and magnetic buzzers: the loudest, for good news. */
    static final int HIGH = 2700;
    /** Low and dull: something needs a look. */
    static final int LOW = 880;
    /** How long identify blinks unless stopped. */
    public static final Duration IDENTIFY_LIMIT = Duration.ofSeconds(60);

    private static final Pattern ACCEPTED = new Pattern("accepted", List.of(
            Step.of(120, GREEN, HIGH),
            Step.of(480, GREEN)));
    private static final Pattern ACCEPTED_OFFLINE = new Pattern("accepted-offline", List.of(
            Step.of(70, GREEN, HIGH),
            Step.of(70, GREEN),
            Step.of(70, GREEN, HIGH),
            Step.of(190, GREEN),
            Step.of(400, AMBER)));
    private static final Pattern REWARD_DUE = new Pattern("reward-due", List.of(
            Step.of(80, GREEN, 1760),
            Step.of(40, OFF),
            Step.of(80, GREEN, 2217),
            Step.of(40, OFF),
            Step.of(80, GREEN, 2637),
            Step.of(40, OFF),
            Step.of(400, GREEN, 3520),
            Step.of(640, GREEN)));
    private static final Pattern REJECTED = new Pattern("rejected", List.of(
            Step.of(700, RED, LOW),
            Step.of(500, RED)));
    private static final Pattern TOO_SOON = new Pattern("too-soon", List.of(
            Step.of(250, AMBER, 1400),
            Step.of(150, AMBER),
            Step.of(250, AMBER, 1000),
            Step.of(350, AMBER)));
    private static final Pattern SCANNER_LOST = new Pattern("scanner-lost", repeat(3,
            Step.of(300, RED, 660),
            Step.of(700, OFF)));
    private static final Pattern STORAGE_FAULT = new Pattern("storage-fault", concat(
            repeat(5, Step.of(50, RED, HIGH), Step.of(50, RED), Step.of(50, RED, 1800), Step.of(50, RED)),
            List.of(Step.of(1000, RED))));
    /** For staff, once: amber and red alternate with two low blips, then amber: "look at the box soon". */
    private static final Pattern STORAGE_NEAR_FULL = new Pattern("storage-near-full", concat(
            repeat(2, Step.of(100, AMBER, LOW), Step.of(100, RED)),
            List.of(Step.of(600, AMBER))));
    /** Two pairs of short high beeps on green: good news that asks staff to act (hand over the reward). */
    private static final Pattern VOUCHER_OK = new Pattern("voucher-ok", List.of(
            Step.of(80, GREEN, HIGH),
            Step.of(60, GREEN),
            Step.of(80, GREEN, HIGH),
            Step.of(220, GREEN),
            Step.of(80, GREEN, 3200),
            Step.of(60, GREEN),
            Step.of(80, GREEN, 3200),
            Step.of(700, GREEN)));
    /** Amber, one long and two short middle tones: "not now", neither the yes of green nor the no of red. */
    private static final Pattern CANNOT_CHECK = new Pattern("cannot-check", List.of(
            Step.of(400, AMBER, 1200),
            Step.of(150, AMBER),
            Step.of(100, AMBER, 1200),
            Step.of(100, AMBER),
            Step.of(100, AMBER, 1200),
            Step.of(650, AMBER)));
    /** One identify cycle, 2 s: the loop in {@link PatternPlayer} repeats it. A tick, so a person nearby hears it. */
    private static final Pattern IDENTIFY = new Pattern("identify", List.of(
            Step.of(40, BLUE, 3000),
            Step.of(460, BLUE),
            Step.of(500, OFF),
            Step.of(500, BLUE),
            Step.of(500, OFF)));
    /** Every LED colour on its own, then three rising tones: someone at the box sees and hears each output work. */
    private static final Pattern SELF_TEST = new Pattern("self-test", List.of(
            Step.of(250, GREEN),
            Step.of(250, RED),
            Step.of(250, BLUE),
            Step.of(150, AMBER, 1000),
            Step.of(50, AMBER),
            Step.of(150, AMBER, 2000),
            Step.of(50, AMBER),
            Step.of(150, AMBER, 3000)));

    private Patterns() {
    }

    public static Pattern forSignal(Signal signal) {
        return switch (signal) {
            case ACCEPTED -> ACCEPTED;
            case ACCEPTED_OFFLINE -> ACCEPTED_OFFLINE;
            case REWARD_DUE -> REWARD_DUE;
            case REJECTED -> REJECTED;
            case TOO_SOON -> TOO_SOON;
            case SCANNER_LOST -> SCANNER_LOST;
            case STORAGE_FAULT -> STORAGE_FAULT;
            case STORAGE_NEAR_FULL -> STORAGE_NEAR_FULL;
            case VOUCHER_OK -> VOUCHER_OK;
            case CANNOT_CHECK -> CANNOT_CHECK;
        };
    }

    /** One cycle of identify; played in a loop for {@link #IDENTIFY_LIMIT}. */
    public static Pattern identifyCycle() {
        return IDENTIFY;
    }

    public static Pattern selfTest() {
        return SELF_TEST;
    }

    private static List<Step> repeat(int times, Step... steps) {
        List<Step> out = new ArrayList<>();
        for (int i = 0; i < times; i++) {
            out.addAll(List.of(steps));
        }
        return out;
    }

    private static List<Step> concat(List<Step> a, List<Step> b) {
        List<Step> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
