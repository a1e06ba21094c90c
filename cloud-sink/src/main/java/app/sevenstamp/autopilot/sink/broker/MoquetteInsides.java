package app.sevenstamp.autopilot.sink.broker;

import io.moquette.broker.Server;
import java.lang.reflect.Field;

/**
 * Moquette 0.17's private fields, read by reflection for {@link MoquetteGuard} and {@link SessionLoops}:
 * the one place that names them. Another version may name them otherwise; the readers then throw.
 */
final class MoquetteInsides {
    private MoquetteInsides() {
    }

    /** The value of the field {@code name} declared by {@code owner}'s own class. */
    static Object read(Object owner, String name) throws ReflectiveOperationException {
        Field f = owner.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(owner);
    }

    /** Its {@code SessionEventLoopGroup}: {@code dispatcher.sessionLoops}. */
    static Object sessionLoopGroup(Server server) throws ReflectiveOperationException {
        return read(read(server, "dispatcher"), "sessionLoops");
    }
}
