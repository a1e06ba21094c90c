package app.sevenstamp.autopilot.sink.wallet.google;

/**
 * Google Wallet could not do what was asked: a bad key file, a refused token, an API error after
 * the retries. The message says what and, where it can, what to do; the caller retries later.
 */
final class GoogleWalletException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GoogleWalletException(String message) {
        super(message);
    }

    public GoogleWalletException(String message, Throwable cause) {
        super(message, cause);
    }
}
