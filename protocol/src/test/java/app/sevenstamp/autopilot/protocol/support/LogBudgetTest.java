package app.sevenstamp.autopilot.protocol.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LogBudgetTest {
    @Test
    void aFewLinesAPeriodAndTheFirstAfterwardsSaysHowManyWereLeftOut() {
        AtomicLong now = new AtomicLong();
        LogBudget budget = new LogBudget(3, Duration.ofSeconds(60), now::get);
        assertEquals(0, budget.take());
        assertEquals(0, budget.take());
        assertEquals(0, budget.take());
        for (int i = 0; i < 1_000; i++) {
            assertEquals(-1, budget.take(), "beyond the budget");
        }
        now.addAndGet(Duration.ofSeconds(59).toNanos());
        assertEquals(-1, budget.take(), "still the same period");
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        assertEquals(1_001, budget.take(), "the next period's first line counts what was left out");
        assertEquals(0, budget.take());
        assertEquals(" (1001 more like it since the last such line, not logged)", LogBudget.leftOut(1_001));
        assertEquals("", LogBudget.leftOut(0));
    }

    @Test
    void aBudgetNeedsALineAndAPeriod() {
        assertThrows(IllegalArgumentException.class, () -> new LogBudget(0, Duration.ofSeconds(1), System::nanoTime));
        assertThrows(IllegalArgumentException.class, () -> new LogBudget(1, Duration.ZERO, System::nanoTime));
    }
}
