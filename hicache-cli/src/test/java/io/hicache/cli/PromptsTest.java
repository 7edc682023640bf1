package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PromptsTest {
    @TempDir
    Path dir;

    Path file(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
    }

    @Test
    void textFilesSkipBlankLinesAndToleratesBomCrlfAndSpaces() throws IOException {
        Path f = file("p.txt", "\uFEFFA red colored car.\r\n\r\n  a cat  \r\n\t\nlast line without newline");
        assertEquals(List.of("A red colored car.", "a cat", "last line without newline"), Prompts.read(f));
    }

    @Test
    void quotedLinesLoseTheirCsvQuotes() throws IOException {
        Path f = file("p.txt", "\"A sign that says \"\"Hello\"\".\"\nnot \"quoted\" whole\n\"\"\n");
        assertEquals(List.of("A sign that says \"Hello\".", "not \"quoted\" whole"), Prompts.read(f));
    }

    @Test
    void unicodeSurvives() throws IOException {
        Path f = file("p.txt", "東京の夜景\nemoji 🚀\n");
        assertEquals(List.of("東京の夜景", "emoji 🚀"), Prompts.read(f));
    }

    @Test
    void tsvUsesThePromptColumnAnyCase() throws IOException {
        Path f = file("parti.TSV", "Category\tPROMPT\tNote\nScenes\tA lighthouse\tx\n\nFood\t\"A bowl\"\t\nOdd\t\t\n");
        assertEquals(List.of("A lighthouse", "A bowl"), Prompts.read(f));
    }

    @Test
    void theShippedExamplesRead() {
        Path root = Path.of("..", "resources", "prompts");
        assertEquals(8, Prompts.read(root.resolve("examples.txt")).size());
        assertEquals(4, Prompts.read(root.resolve("examples.tsv")).size());
        List<Prompts.Row> edits = Prompts.readRows(root.resolve("edit-examples.tsv"));
        assertEquals(3, edits.size());
        assertTrue(edits.stream().allMatch(r -> Files.isRegularFile(r.imageFile())), "every example image ships");
    }

    /** An Image column names each row's image, relative to the prompt file's folder; empty cells name none. */
    @Test
    void tsvImageColumnResolvesAgainstTheFilesFolder() throws IOException {
        Path sub = Files.createDirectories(dir.resolve("edits"));
        Path f = Files.writeString(sub.resolve("e.tsv"),
                "Note\tIMAGE\tPrompt\nx\tpics/a.png\tturn it blue\n\ny\t\tno image\nz\t\"/abs/b.jpg\"\tabsolute\n");
        List<Prompts.Row> rows = Prompts.readRows(f);
        assertEquals(List.of("turn it blue", "no image", "absolute"), rows.stream().map(Prompts.Row::prompt).toList());
        assertEquals("pics/a.png", rows.get(0).image());
        assertEquals(sub.toAbsolutePath().resolve("pics/a.png"), rows.get(0).imageFile());
        assertEquals(null, rows.get(1).image());
        assertEquals(Path.of("/abs/b.jpg"), rows.get(2).imageFile());
        assertTrue(rows.get(1).where().endsWith("line 4"), rows.get(1).where());
        List<Prompts.Row> all = Prompts.collectRows(f, List.of("inline"));
        assertEquals(4, all.size());
        assertEquals("--prompt", all.get(3).where());
    }

    @Test
    void inlinePromptsComeAfterTheFile() throws IOException {
        assertEquals(List.of("from file", "inline"), Prompts.collect(file("p.txt", "from file\n"), List.of(" inline ")));
    }

    @Test
    void badFilesSayWhat() throws IOException {
        assertMessage("prompt file not found", () -> Prompts.read(dir.resolve("missing.txt")));
        assertMessage("is a directory", () -> Prompts.read(dir));
        assertMessage("has no prompts", () -> Prompts.read(file("empty.txt", "")));
        assertMessage("has no prompts", () -> Prompts.read(file("blank.txt", "\n  \r\n\t\n")));
        assertMessage("has no 'Prompt' column (its header is: Text, Category)",
                () -> Prompts.read(file("bad.tsv", "Text\tCategory\nx\ty\n")));
        Path latin1 = Files.write(dir.resolve("latin1.txt"), new byte[] {'o', 'k', '\n', 'c', 'a', 'f', (byte) 0xE9, '\n'});
        assertMessage("is not UTF-8 text (invalid bytes at line 2)", () -> Prompts.read(latin1));
        assertMessage("no prompts: give --prompt-file FILE or --prompt TEXT", () -> Prompts.collect(null, List.of()));
        assertMessage("--prompt is empty", () -> Prompts.collect(null, List.of(" ")));
    }

    static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        UsageException e = assertThrows(UsageException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
