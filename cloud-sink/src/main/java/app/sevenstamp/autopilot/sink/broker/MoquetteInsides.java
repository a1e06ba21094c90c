package app.sevenstamp.autopilot.sink.broker;

import io.moquette.broker.Server;
import java.lang.reflect.Field;
import java.lang.reflect.Method;

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

    /** The method {@code name}, without parameters, declared by the class {@code className}; made accessible. */
    static Method method(String className, String name) throws ReflectiveOperationException {
        Method m = Class.forName(className).getDeclaredMethod(name);
        m.setAccessible(true);
        return m;
    }

    /** Its {@code SessionEventLoopGroup}: {@code dispatcher.sessionLoops}. */
    static Object sessionLoopGroup(Server server) throws ReflectiveOperationException {
        return read(read(server, "dispatcher"), "sessionLoops");
    }
}
