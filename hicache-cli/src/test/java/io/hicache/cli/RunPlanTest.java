package io.hicache.cli;

import static io.hicache.cli.PromptsTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RunPlanTest {
    static final List<String> PROMPTS = List.of("p0", "p1", "p2", "p3", "p4");

    @Test
    void imageIndexNamesAndSeedsFollowTheGlobalPromptIndex() {
        RunPlan plan = RunPlan.of(PROMPTS, 1, 2, 3, 100, Shard.WHOLE);
        List<String> got = new ArrayList<>();
        for (Job j : plan.jobs()) {
            got.add(j.stem() + ":" + j.prompt() + ":" + j.seed());
        }
        assertEquals(List.of("img_3:p1:103", "img_4:p1:104", "img_5:p1:105", "img_6:p2:106", "img_7:p2:107",
                "img_8:p2:108"), got);
        assertEquals(6, plan.selectedImages());
        assertEquals(8, plan.maxImageIndex());
        assertEquals(2, plan.maxPromptIndex());
    }

    @Test
    void limitPastTheEndAndZeroLimitAreFine() {
        assertEquals(4, RunPlan.of(PROMPTS, 1, 100, 1, 0, Shard.WHOLE).jobs().size());
        assertEquals(0, RunPlan.of(PROMPTS, 0, 0, 1, 0, Shard.WHOLE).jobs().size());
    }

    @Test
    void shardsAreDisjointAndTogetherMakeTheWholeRun() {
        for (int n = 1; n <= 4; n++) {
            RunPlan whole = RunPlan.of(PROMPTS, 1, 3, 2, 7, Shard.WHOLE);
            Set<Job> union = new HashSet<>();
            int total = 0;
            for (int k = 1; k <= n; k++) {
                List<Job> jobs = RunPlan.of(PROMPTS, 1, 3, 2, 7, new Shard(k, n)).jobs();
                union.addAll(jobs);
                total += jobs.size();
                for (Job j : jobs) {
                    assertEquals(k - 1, j.index() % n);
                }
            }
            assertEquals(whole.jobs().size(), total, "disjoint");
            assertEquals(new HashSet<>(whole.jobs()), union, "same names, prompts and seeds");
        }
    }

    @Test
    void shardParsing() {
        assertEquals(new Shard(2, 8), Shard.parse(" 2/8 "));
        assertEquals(".shard-2-of-8", Shard.parse("2/8").fileSuffix());
        assertEquals("", Shard.parse("1/1").fileSuffix());
        assertMessage("use k/n with 1 <= k <= n", () -> Shard.parse("3/2"));
        assertMessage("use k/n with 1 <= k <= n", () -> Shard.parse("0/2"));
        assertMessage("use k/n, e.g. 2/8", () -> Shard.parse("x"));
        assertMessage("use k/n with whole numbers", () -> Shard.parse("a/b"));
        assertMessage("use k/n, e.g. 2/8", () -> Shard.parse("1/2/3"));
    }

    @Test
    void badNumbersSayWhat() {
        assertMessage("--start-index must be >= 0", () -> RunPlan.of(PROMPTS, -1, null, 1, 0, Shard.WHOLE));
        assertMessage("--start-index 5 is past the end of the 5 prompt(s) (indices 0..4)",
                () -> RunPlan.of(PROMPTS, 5, null, 1, 0, Shard.WHOLE));
        assertMessage("--limit must be >= 0, got -1", () -> RunPlan.of(PROMPTS, 0, -1, 1, 0, Shard.WHOLE));
        assertMessage("--num-images-per-prompt must be >= 1", () -> RunPlan.of(PROMPTS, 0, null, 0, 0, Shard.WHOLE));
        assertMessage("--seed must be >= 0", () -> RunPlan.of(PROMPTS, 0, null, 1, -3, Shard.WHOLE));
        assertMessage("overflows", () -> RunPlan.of(PROMPTS, 0, null, 1, Long.MAX_VALUE - 2, Shard.WHOLE));
        assertTrue(RunPlan.of(PROMPTS, 0, null, 1, Long.MAX_VALUE - 4, Shard.WHOLE).jobs().size() == 5);
    }
}
