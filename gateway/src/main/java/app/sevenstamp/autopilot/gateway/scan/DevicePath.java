package app.sevenstamp.autopilot.gateway.scan;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A configured device: a plain path ({@code /dev/serial/by-id/usb-Honeywell...-if00}) or a glob in its
 * last part ({@code /dev/serial/by-id/*Honeywell*}). It is resolved again at every (re)open, because a
 * replugged scanner may come back as another ttyACM or event number; the by-id names follow it.
 * Immutable and thread-safe.
 */
public final class DevicePath {
    private final String configured;
    private final Path dir;
    private final PathMatcher matcher;

    private DevicePath(String configured, Path dir, PathMatcher matcher) {
        this.configured = configured;
        this.dir = dir;
        this.matcher = matcher;
    }

    /**
     * @throws IllegalArgumentException when a glob character is anywhere but in the last part, or the
     *                                  glob is malformed
     */
    public static DevicePath of(String configured) {
        Objects.requireNonNull(configured, "configured");
        Path path = Path.of(configured);
        Path name = path.getFileName();
        if (name == null) {
            throw new IllegalArgumentException("not a device path");
        }
        Path parent = path.getParent();
        if (parent != null && isGlob(parent.toString())) {
            throw new IllegalArgumentException("a glob (*, ?, [...], {...}) is allowed only in the last part of the path");
        }
        if (!isGlob(name.toString())) {
            return new DevicePath(configured, null, null);
        }
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + name);
        return new DevicePath(configured, parent == null ? Path.of(".") : parent, matcher);
    }

    public static boolean isGlob(String s) {
        return s.indexOf('*') >= 0 || s.indexOf('?') >= 0 || s.indexOf('[') >= 0 || s.indexOf('{') >= 0;
    }

    public boolean isGlob() {
        return matcher != null;
    }

    /** The devices it names right now, sorted; a plain path is listed when it exists. */
    public List<Path> matches() {
        if (matcher == null) {
            Path p = Path.of(configured);
            return Files.exists(p) ? List.of(p) : List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> matcher.matches(p.getFileName())).sorted().toList();
        } catch (IOException | SecurityException e) {
            return List.of(); // no such directory: nothing of that kind is plugged in
        }
    }

    /**
     * The device to open now: the plain path (even when missing: opening it reports why), or the first
     * match of the glob. Empty when a glob matches nothing.
     */
    public Optional<Path> resolve() {
        if (matcher == null) {
            return Optional.of(Path.of(configured));
        }
        List<Path> found = matches();
        return found.isEmpty() ? Optional.empty() : Optional.of(found.get(0));
    }

    @Override
    public String toString() {
        return configured;
    }
}
