package app.sevenstamp.autopilot.sink.wallet.google;

/**
 * Why a card changed. Google lets a pass notify its holder at most three times a day, so only what
 * the customer wants to hear about at once (a reward, a voucher) asks for a notification; stamps and
 * corrections update the pass silently.
 */
enum ChangeKind {
    STAMP(false),
    REWARD(true),
    VOUCHER(true),
    ADJUST(false);

    private final boolean notifies;

    ChangeKind(boolean notifies) {
        this.notifies = notifies;
    }

    public boolean notifies() {
        return notifies;
    }
}
