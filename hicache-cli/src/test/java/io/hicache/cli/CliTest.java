package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Help, version, completion: what a user meets first. */
class CliTest {
    @Test
    void helpListsOptionsBySectionWithDefaultsAndKebabNamesOnly() {
        CliRun r = CliRun.of("--help");
        assertEquals(0, r.exitCode());
        String help = r.out();
        for (String s : new String[] {"Prompts:", "Model and sampling:", "Cache:", "Devices:", "Output:", "General:",
            "--prompt-file=FILE", "--num-images-per-prompt=N", "--shard=K/N", "--[no-]shared-encoder",
            "--output-type=TYPE", "Exit codes:", "replay", "completion"}) {
            assertTrue(help.contains(s), s + " in:\n" + help);
        }
        String options = help.substring(0, help.indexOf("Commands:"));
        assertFalse(options.contains("--prompt_file") || options.contains("--num_images_per_prompt"), options);
        assertTrue(help.matches("(?s).*--steps, --num-steps=N\\s+Denoising steps \\(default: the model's.*"), help);
        assertTrue(help.matches("(?s).*--mode, --cache-mode=MODE.*Default: HiCache.*"), help);
        assertTrue(help.matches("(?s).*--interval, --intervals=N\\s+Full-step interval\\.\\s+Default: 7.*"), help);
        assertTrue(help.matches("(?s).*--hicache-scale=SIGMA.*Default: 0\\.5.*"), help);
        assertTrue(help.matches("(?s).*--output-dir=DIR.*Default: outputs.*"), help);
        assertTrue(help.matches("(?s).*--guidance, --guidance-scale=G\\s+Guidance scale a guidance-distilled.*"), help);
        assertTrue(help.matches("(?s).*--true-cfg-scale=S\\s+True classifier-free guidance scale.*"), help);
    }

    /** Issue 10, defect 16: the help names the backends that are installed (here flux, qwen-image, chipmunk and the tests' fake), no others. */
    @Test
    void helpListsTheInstalledBackends() {
        String help = CliRun.of("--help").out().replaceAll("\\s+", " ");
        assertEquals(java.util.Set.of("flux", "qwen-image", "qwen-image-edit", "chipmunk", "fake"),
                installedIn(help, "--backend=NAME Model family, one of those installed: ", "."));
        String encode = CliRun.of("encode-prompts", "--help").out().replaceAll("\\s+", " ");
        assertEquals(java.util.Set.of("flux", "qwen-image", "qwen-image-edit", "chipmunk", "fake"),
                installedIn(encode, "one of those installed: ", " (default: flux)"));
    }

    private static java.util.Set<String> installedIn(String help, String before, String after) {
        int from = help.indexOf(before);
        assertTrue(from >= 0, help);
        from += before.length();
        return java.util.Set.of(help.substring(from, help.indexOf(after, from)).split(", "));
    }

    @Test
    void versionNamesProjectDjlAndPytorch() {
        CliRun r = CliRun.of("--version");
        assertEquals(0, r.exitCode());
        assertTrue(r.out().contains("hicache 0.1.0") && r.out().contains("DJL 0.36.0, PyTorch 2.7.1"), r.out());
    }

    @Test
    void completionScriptCoversOptionsAndSubcommands() {
        CliRun r = CliRun.of("completion");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("complete -F"), r.out().substring(0, 200));
        assertTrue(r.out().contains("--prompt-file") && r.out().contains("--output-type") && r.out().contains("replay"));
    }

    @Test
    void subcommandsStillWork() {
        CliRun r = CliRun.of("replay", "--help");
        assertEquals(0, r.exitCode());
        assertTrue(r.out().contains("--trajectory"));
    }
}
