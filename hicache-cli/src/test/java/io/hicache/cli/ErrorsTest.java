package io.hicache.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ErrorsTest {
    /** Issue 10, defect 16: exceptions that carry only a file name ("hicache bench: FILE") get the reason. */
    @Test
    void fileSystemExceptionsWithoutAReasonSayWhatIsWrong() {
        assertEquals("/a/out: already exists", Errors.oneLine(new FileAlreadyExistsException("/a/out")));
        assertEquals("/a/out: not a directory", Errors.oneLine(new NotDirectoryException("/a/out")));
        assertEquals("/a: directory not empty", Errors.oneLine(new DirectoryNotEmptyException("/a")));
        assertEquals("/a -> /b: file system error (FileSystemException)",
                Errors.oneLine(new FileSystemException("/a", "/b", null)));
        assertEquals("/a: Is a directory", Errors.oneLine(new FileSystemException("/a", null, "Is a directory")));
    }

    @Test
    void aboutPutsThePathInFrontUnlessTheMessageHasIt() {
        assertEquals("/x/E.safetensors: unexpected end of file",
                Errors.about(Path.of("/x/E.safetensors"), new java.io.IOException("unexpected end of file")));
        assertEquals("no such file: /x/E.safetensors",
                Errors.about(Path.of("/x/E.safetensors"), new java.nio.file.NoSuchFileException("/x/E.safetensors")));
    }
}
