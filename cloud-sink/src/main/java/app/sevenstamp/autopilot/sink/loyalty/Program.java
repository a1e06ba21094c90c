package app.sevenstamp.autopilot.sink.loyalty;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import java.util.Objects;

/**
 * A loyalty program as the operator configured it.
 *
 * @param id             the program id printed in card codes ({@link CardCode#PROGRAM_ID})
 * @param name           what customers see, for example "Coffee card"
 * @param stampsRequired stamps that complete a round and earn one reward, 1..{@value #MAX_STAMPS}
 */
public record Program(String id, String name, int stampsRequired) {
    public static final int MAX_STAMPS = 100;

    public Program {
        if (id == null || !CardCode.PROGRAM_ID.matcher(id).matches()) {
            throw new IllegalArgumentException("program id '" + id + "' must match " + CardCode.PROGRAM_ID.pattern());
        }
        Objects.requireNonNull(name, "name");
        if (stampsRequired < 1 || stampsRequired > MAX_STAMPS) {
            throw new IllegalArgumentException("stampsRequired must be in 1.." + MAX_STAMPS + ", was " + stampsRequired);
        }
    }
}
