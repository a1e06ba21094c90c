package app.sevenstamp.autopilot.protocol.support;

import java.text.MessageFormat;
import java.util.MissingResourceException;
import java.util.ResourceBundle;
import org.eclipse.paho.client.mqttv3.logging.LoggerFactory;
import org.tinylog.Logger;

/**
 * Paho's own log lines through tinylog, like every other line of the box and the sink. Paho logs through
 * {@code java.util.logging} unless told otherwise, which wrote its errors (a keep-alive timeout, a message it
 * could not persist) to stderr in JUL's two-line format, without the journal priority
 * {@link JournalConsoleWriter} gives each line: under systemd an error of Paho's was journalled as info, and
 * {@code journalctl -p err} did not show it. Paho asks for its loggers by class name, so {@link #install()}
 * names this one before a client is made. Paho makes one for each of its tokens, that is for each message sent, so
 * making one does nothing but keep what it is given; the rest waits for a line that is logged, which is rare.
 *
 * <p>Paho's levels map to tinylog's: SEVERE to error, WARNING to warn, INFO to info, CONFIG to debug, FINE
 * and finer to trace; its debug lines cost nothing while tinylog's level is above them. A message is a key in
 * Paho's catalog and its inserts, formatted as Paho does ({@link MessageFormat}), after the client id.
 */
public final class PahoLog implements org.eclipse.paho.client.mqttv3.logging.Logger {
    private ResourceBundle catalog;
    private volatile String clientId;

    /** Paho makes its loggers itself, by reflection, through this constructor. */
    public PahoLog() {
    }

    /** Makes Paho's clients made from now on, in this JVM, log through tinylog. */
    public static void install() {
        LoggerFactory.setLogger(PahoLog.class.getName());
    }

    @Override
    public void initialise(ResourceBundle messageCatalog, String loggerId, String resourceName) {
        this.catalog = messageCatalog;
        this.clientId = resourceName;
    }

    @Override
    public void setResourceName(String resourceName) {
        this.clientId = resourceName;
    }

    @Override
    public boolean isLoggable(int level) {
        return switch (level) {
            case SEVERE -> Logger.isErrorEnabled();
            case WARNING -> Logger.isWarnEnabled();
            case INFO -> Logger.isInfoEnabled();
            case CONFIG -> Logger.isDebugEnabled();
            default -> Logger.isTraceEnabled();
        };
    }

    @Override
    public void severe(String sourceClass, String sourceMethod, String msg) {
        log(SEVERE, sourceClass, sourceMethod, msg, null, null);
    }

    @Override
    public void severe(String sourceClass, String sourceMethod, String msg, Object[] inserts) {
        log(SEVERE, sourceClass, sourceMethod, msg, inserts, null);
    }

    @Override
    public void severe(String sourceClass, String sourceMethod, String msg, Object[] inserts, Throwable thrown) {
        log(SEVERE, sourceClass, sourceMethod, msg, inserts, thrown);
    }

    @Override
    public void warning(String sourceClass, String sourceMethod, String msg) {
        log(WARNING, sourceClass, sourceMethod, msg, null, null);
    }

    @Override
    public void warning(String sourceClass, String sourceMethod, String msg, Object[] inserts) {
        log(WARNING, sourceClass, sourceMethod, msg, inserts, null);
    }

    @Override
    public void warning(String sourceClass, String sourceMethod, String msg, Object[] inserts, Throwable thrown) {
        log(WARNING, sourceClass, sourceMethod, msg, inserts, thrown);
    }

    @Override
    public void info(String sourceClass, String sourceMethod, String msg) {
        log(INFO, sourceClass, sourceMethod, msg, null, null);
    }

    @Override
    public void info(String sourceClass, String sourceMethod, String msg, Object[] inserts) {
        log(INFO, sourceClass, sourceMethod, msg, inserts, null);
    }

    @Override
    public void info(String sourceClass, String sourceMethod, String msg, Object[] inserts, Throwable thrown) {
        log(INFO, sourceClass, sourceMethod, msg, inserts, thrown);
    }

    @Override
    public void config(String sourceClass, String sourceMethod, String msg) {
        log(CONFIG, sourceClass, sourceMethod, msg, null, null);
    }

    @Override
    public void config(String sourceClass, String sourceMethod, String msg, Object[] inserts) {
        log(CONFIG, sourceClass, sourceMethod, msg, inserts, null);
    }

    @Override
    public void config(String sourceClass, String sourceMethod, String msg, Object[] inserts, Throwable thrown) {
        log(CONFIG, sourceClass, sourceMethod, msg, inserts, thrown);
    }

    @Override
    public void fine(String sourceClass, String sourceMethod, String msg) {
        log(FINE, sourceClass, sourceMethod, msg, null, null);
    }

    @Override
    public void fine(String sourceClass, String sourceMethod, String msg, Object[] inserts) {
        log(FINE, sourceClass, sourceMethod, msg, inserts, null);
    }

    @Override
    public void fine(String sourceClass, String sourceMethod, String msg, Object[] inserts, Throwable thrown) {
        log(FINE, sourceClass, sourceMethod, msg, inserts, thrown);
    }

    @Override
    public void finer(String sourceClass, String sourceMethod, String msg) {
        log(FINER, sourceClass, sourceMethod, msg, null, null);
    }

    @Override
    public void finer(String sourceClass, String sourceMethod, String msg, Object[] inserts) {
        log(FINER, sourceClass, sourceMethod, msg, inserts, null);
    }

    @Override
    public void finer(String sourceClass, String sourceMethod, String msg, Object[] inserts, Throwable thrown) {
        log(FINER, sourceClass, sourceMethod, msg, inserts, thrown);
    }

    @Override
    public void finest(String sourceClass, String sourceMethod, String msg) {
        log(FINEST, sourceClass, sourceMethod, msg, null, null);
    }

    @Override
    public void finest(String sourceClass, String sourceMethod, String msg, Object[] inserts) {
        log(FINEST, sourceClass, sourceMethod, msg, inserts, null);
    }

    @Override
    public void finest(String sourceClass, String sourceMethod, String msg, Object[] inserts, Throwable thrown) {
        log(FINEST, sourceClass, sourceMethod, msg, inserts, thrown);
    }

    @Override
    public void log(int level, String sourceClass, String sourceMethod, String msg, Object[] inserts, Throwable thrown) {
        if (!isLoggable(level)) {
            return;
        }
        String source = sourceClass == null ? "" : sourceClass.substring(sourceClass.lastIndexOf('.') + 1);
        String line = source + "." + sourceMethod + ": " + (clientId == null ? "" : clientId + ": ")
                + formatMessage(msg, inserts);
        switch (level) {
            case SEVERE -> Logger.error(thrown, line);
            case WARNING -> Logger.warn(thrown, line);
            case INFO -> Logger.info(thrown, line);
            case CONFIG -> Logger.debug(thrown, line);
            default -> Logger.trace(thrown, line);
        }
    }

    /** Paho's trace is its own ring buffer (its {@code Debug}), not a log: nothing to do here. */
    @Override
    public void trace(int level, String sourceClass, String sourceMethod, String msg, Object[] inserts, Throwable ex) {
    }

    @Override
    public String formatMessage(String msg, Object[] inserts) {
        String text = msg;
        if (catalog != null && msg != null) {
            try {
                text = catalog.getString(msg);
            } catch (MissingResourceException e) {
                text = msg; // a key Paho's catalog lacks: the key itself still says which line it was
            }
        }
        return inserts == null || inserts.length == 0 || text == null ? text : MessageFormat.format(text, inserts);
    }

    @Override
    public void dumpTrace() {
    }
}
