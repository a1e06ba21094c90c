package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.StampPipeline;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The independent checker of a fault schedule. It knows nothing of outboxes or acks: on one side what
 * the gateway promised the customers, the ACCEPTED and ACCEPTED_OFFLINE lines of every run (card and
 * sequence number); on the other what the sink counts per card and which sequence numbers of the
 * device it has (its last number and its gaps). Every confirmed stamp must be counted exactly once.
 *
 * <p>The one allowed difference is a stamp stored but never confirmed, at most one per kill -9 of the
 * gateway: the kill fell between the fsync and the feedback line. The customer saw no green light, the
 * sink counts one more. Such a stamp has a sequence number that no line shows, so it is told apart from
 * a stamp counted twice, which has none.
 */
final class StampAudit {
    private static final Pattern CONFIRMED = Pattern.compile("^(ACCEPTED|ACCEPTED_OFFLINE) card=(\\S+) .*\\bseq=(\\d+)\\b.*");

    private StampAudit() {
    }

    /** One green light: run is the gateway's start number (1 for the first process). */
    record Confirmation(int run, String card, long seq, boolean offline) {
        @Override
        public String toString() {
            return "card " + card + " seq " + seq + " (gateway run " + run + (offline ? ", ACCEPTED_OFFLINE)" : ", ACCEPTED)");
        }
    }

    /** A range of sequence numbers the sink has not received although it has later ones. */
    record Gap(long from, long to) {
        boolean holds(long seq) {
            return from <= seq && seq <= to;
        }
    }

    /**
     * What the sink says, through its HTTP API.
     *
     * @param counted stamps per card (the current round plus the completed ones); a card without stamps is absent
     * @param lastSeq the device's highest sequence number, 0 when the sink has never heard of it
     */
    record SinkView(Map<String, Integer> counted, long lastSeq, List<Gap> gaps) {
        SinkView {
            counted = Map.copyOf(counted);
            gaps = List.copyOf(gaps);
        }

        boolean has(long seq) {
            return seq >= 1 && seq <= lastSeq && gaps.stream().noneMatch(g -> g.holds(seq));
        }

        int total() {
            return counted.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    /**
     * The findings; {@link #ok()} when nothing was lost or doubled, nothing counted without a green light
     * beyond one per kill, no number was confirmed twice and no gap is open.
     */
    record Verdict(String summary, List<String> lost, List<String> doubled, List<String> unconfirmed,
            List<String> renumbered, List<String> gaps, List<String> notes) {
        boolean ok() {
            return lost.isEmpty() && doubled.isEmpty() && unconfirmed.isEmpty() && renumbered.isEmpty() && gaps.isEmpty();
        }

        String report() {
            StringBuilder b = new StringBuilder(summary).append('\n');
            section(b, "LOST", lost);
            section(b, "DOUBLED", doubled);
            section(b, "COUNTED WITHOUT A GREEN LIGHT", unconfirmed);
            section(b, "NUMBERED TWICE", renumbered);
            section(b, "SEQUENCE GAPS AT THE SINK", gaps);
            section(b, "notes", notes);
            return b.toString();
        }

        private static void section(StringBuilder b, String title, List<String> lines) {
            b.append(title).append(lines.isEmpty() ? ": none" : ":").append('\n');
            lines.forEach(l -> b.append("  ").append(l).append('\n'));
        }
    }

    /** {@code 3, 7..9, 12}: sorted, runs of consecutive numbers joined. */
    static String ranges(List<Long> numbers) {
        List<Long> sorted = numbers.stream().sorted().distinct().toList();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < sorted.size(); ) {
            int j = i;
            while (j + 1 < sorted.size() && sorted.get(j + 1) == sorted.get(j) + 1) {
                j++;
            }
            out.add(i == j ? sorted.get(i).toString() : sorted.get(i) + ".." + sorted.get(j));
            i = j + 1;
        }
        return String.join(", ", out);
    }

    /** The confirmations among a gateway run's stdout lines. */
    static List<Confirmation> parse(int run, List<String> lines) {
        List<Confirmation> out = new ArrayList<>();
        for (String line : lines) {
            Matcher m = CONFIRMED.matcher(line);
            if (m.matches()) {
                out.add(new Confirmation(run, m.group(2), Long.parseLong(m.group(3)), m.group(1).equals("ACCEPTED_OFFLINE")));
            }
        }
        return out;
    }

    /**
     * @param kills how many times the gateway was killed: each may leave the stamps of one burst (at most
     *              {@link StampPipeline#MAX_BURST}, stored by one sync) without their lines
     */
    static Verdict audit(List<Confirmation> confirmed, SinkView sink, int kills) {
        Objects.requireNonNull(sink, "sink");
        List<String> lost = new ArrayList<>();
        List<String> doubled = new ArrayList<>();
        List<String> unconfirmedFindings = new ArrayList<>();
        List<String> renumbered = new ArrayList<>();
        List<String> gaps = new ArrayList<>();
        List<String> notes = new ArrayList<>();

        Map<Long, List<Confirmation>> bySeq = new TreeMap<>();
        Map<String, List<Confirmation>> byCard = new TreeMap<>();
        for (Confirmation c : confirmed) {
            bySeq.computeIfAbsent(c.seq(), k -> new ArrayList<>()).add(c);
            byCard.computeIfAbsent(c.card(), k -> new ArrayList<>()).add(c);
        }
        // a number confirmed twice: the outbox forgot a stamp it had confirmed and gave its number to another
        bySeq.forEach((seq, cs) -> {
            if (cs.size() > 1) {
                renumbered.add("seq " + seq + " confirmed " + cs.size() + " times: "
                        + cs.stream().map(Confirmation::toString).collect(Collectors.joining("; ")));
            }
        });
        // per stamp: a confirmed number the sink does not have
        Map<String, List<Confirmation>> missingByCard = new TreeMap<>();
        for (Confirmation c : confirmed) {
            if (!sink.has(c.seq())) {
                missingByCard.computeIfAbsent(c.card(), k -> new ArrayList<>()).add(c);
            }
        }
        // per card: the counts decide; the missing numbers say which stamps
        TreeSet<String> cards = new TreeSet<>(byCard.keySet());
        cards.addAll(sink.counted().keySet());
        int extra = 0;
        List<String> over = new ArrayList<>();
        for (String card : cards) {
            int promised = byCard.getOrDefault(card, List.of()).size();
            int counted = sink.counted().getOrDefault(card, 0);
            List<Confirmation> missing = missingByCard.getOrDefault(card, List.of());
            if (counted < promised) {
                lost.add("card " + card + ": confirmed " + promised + ", counted " + counted + "; "
                        + (missing.isEmpty() ? "the sink has every sequence number of this card's stamps"
                                : "not at the sink: " + missing.stream().map(c -> "seq " + c.seq() + " (run " + c.run()
                                        + (c.offline() ? ", offline" : "") + ")").collect(Collectors.joining(", "))));
            } else if (!missing.isEmpty()) {
                // the count is made up by another stamp of the card (one never confirmed): still not this one
                lost.add("card " + card + ": confirmed " + promised + ", counted " + counted + ", but not at the sink: "
                        + missing.stream().map(c -> "seq " + c.seq() + " (run " + c.run() + ")").collect(Collectors.joining(", ")));
            }
            if (counted > promised) {
                extra += counted - promised;
                over.add("card " + card + ": confirmed " + promised + ", counted " + counted + " (confirmed seqs "
                        + byCard.getOrDefault(card, List.of()).stream().map(c -> Long.toString(c.seq()))
                                .collect(Collectors.joining(",")) + ")");
            }
        }
        if (!lost.isEmpty()) {
            int stamps = 0;
            for (String card : cards) {
                // a confirmed number the sink lacks is lost even when another stamp of the card makes up the count
                stamps += Math.max(byCard.getOrDefault(card, List.of()).size() - sink.counted().getOrDefault(card, 0),
                        missingByCard.getOrDefault(card, List.of()).size());
            }
            List<Long> missing = new ArrayList<>();
            missingByCard.values().forEach(cs -> cs.forEach(c -> missing.add(c.seq())));
            lost.add(0, stamps + " confirmed stamp(s) not counted; confirmed numbers the sink lacks: "
                    + (missing.isEmpty() ? "none" : ranges(missing)));
        }
        // numbers the sink has that no line confirmed: stamps stored without a green light; a stamp counted
        // twice brings no number of its own, so the extra counts beyond these numbers are doubles
        List<Long> unconfirmed = new ArrayList<>();
        for (long seq = 1; seq <= sink.lastSeq(); seq++) {
            if (sink.has(seq) && !bySeq.containsKey(seq)) {
                unconfirmed.add(seq);
            }
        }
        int stored = Math.min(extra, unconfirmed.size());
        if (extra > stored) {
            doubled.add((extra - stored) + " stamp(s) counted twice (counted beyond the confirmed ones and the "
                    + unconfirmed.size() + " number(s) no line confirmed):");
            doubled.addAll(over);
        }
        if (stored > (long) kills * StampPipeline.MAX_BURST) {
            unconfirmedFindings.add(stored + " stamp(s) counted that no line confirmed, more than the " + kills
                    + " kill(s) of the gateway explain (a burst of at most " + StampPipeline.MAX_BURST + " each): seqs "
                    + unconfirmed + "; " + String.join("; ", over));
        } else if (stored > 0) {
            notes.add(stored + " stamp(s) stored in the instant between fsync and feedback of a kill -9, never confirmed:"
                    + " seqs " + unconfirmed + "; " + String.join("; ", over));
        }
        if (unconfirmed.size() > stored) {
            notes.add("the sink has " + unconfirmed.size() + " number(s) no line confirmed but counts only " + stored
                    + " stamp(s) beyond the confirmed ones: " + unconfirmed);
        }
        for (Gap g : sink.gaps()) {
            gaps.add("seq " + g.from() + ".." + g.to() + " (" + (g.to() - g.from() + 1) + " missing)");
        }
        String summary = confirmed.size() + " stamp(s) confirmed over " + confirmed.stream().mapToInt(Confirmation::run)
                .max().orElse(0) + " gateway run(s) (" + confirmed.stream().filter(Confirmation::offline).count()
                + " ACCEPTED_OFFLINE), " + sink.total() + " counted by the sink on " + sink.counted().size()
                + " card(s); the device's last number at the sink is " + sink.lastSeq();
        return new Verdict(summary, lost, doubled, unconfirmedFindings, renumbered, gaps, notes);
    }
}
