package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.Topics;
import java.util.List;

/**
 * Who may connect and what each device may do, on whichever broker the fleet uses: Mosquitto's
 * dynamic-security plugin ({@link DynSecAccess}) or the embedded broker ({@link EmbeddedAccess}).
 */
public interface BrokerAccess {

    /** Creates or updates the device's credentials and its ACL (its own topics only). Blocks until the broker has it. */
    void grant(String deviceId, String password) throws AccessException;

    /**
     * Deletes the device's credentials and its ACL and ends its session, if any. Blocks until the broker
     * has done it; a device the broker does not know is not an error.
     */
    void revoke(String deviceId) throws AccessException;

    /** The device may publish on these topics and nothing else. */
    static List<String> publishable(Topics topics, String deviceId) {
        return List.of(topics.stamps(deviceId), topics.status(deviceId), topics.commandAcks(deviceId),
                topics.redeem(deviceId));
    }

    /** The device may subscribe to these topics and nothing else: its own, and the rules every box shares. */
    static List<String> readable(Topics topics, String deviceId) {
        return List.of(topics.acks(deviceId), topics.config(deviceId), topics.commands(deviceId),
                topics.redeemAnswers(deviceId), topics.rules());
    }

    final class AccessException extends Exception {
        private static final long serialVersionUID = 1L;

        public AccessException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
