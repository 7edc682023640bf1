package io.hicache.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * Which images a run is responsible for: prompts {@code [startIndex, startIndex + limit)} of the
 * list, {@code imagesPerPrompt} images each, restricted to one {@link Shard}. Built and checked
 * before anything is loaded.
 *
 * @param prompts the whole prompt list
 * @param firstPrompt first selected prompt index
 * @param endPrompt one past the last selected prompt index
 * @param imagesPerPrompt images per prompt
 * @param selectedImages images of the selected prompts, all shards together
 * @param shard the shard this run makes
 * @param jobs this shard's images in index order
 */
record RunPlan(List<String> prompts, int firstPrompt, int endPrompt, int imagesPerPrompt, int selectedImages,
        Shard shard, List<Job> jobs) {

    static RunPlan of(List<String> prompts, int startIndex, Integer limit, int imagesPerPrompt, long seed,
            Shard shard) {
        if (startIndex < 0) {
            throw new UsageException("--start-index must be >= 0, got " + startIndex);
        }
        if (limit != null && limit < 0) {
            throw new UsageException("--limit must be >= 0, got " + limit);
        }
        if (imagesPerPrompt < 1) {
            throw new UsageException("--num-images-per-prompt must be >= 1, got " + imagesPerPrompt);
        }
        if (seed < 0) {
            throw new UsageException("--seed must be >= 0, got " + seed);
        }
        if (startIndex >= prompts.size()) {
            throw new UsageException("--start-index " + startIndex + " is past the end of the " + prompts.size()
                    + " prompt(s) (indices 0.." + (prompts.size() - 1) + ")");
        }
        int end = limit == null ? prompts.size() : (int) Math.min(prompts.size(), (long) startIndex + limit);
        if ((long) end * imagesPerPrompt > Integer.MAX_VALUE) {
            throw new UsageException("too many images: " + end + " prompts x " + imagesPerPrompt);
        }
        long lastIndex = (long) end * imagesPerPrompt - 1;
        if (end > startIndex && seed > Long.MAX_VALUE - lastIndex) {
            throw new UsageException("--seed " + seed + " + image index " + lastIndex + " overflows a 64-bit seed");
        }
        List<Job> jobs = new ArrayList<>();
        for (int p = startIndex; p < end; p++) {
            for (int k = 0; k < imagesPerPrompt; k++) {
                int index = p * imagesPerPrompt + k;
                if (shard.contains(index)) {
                    jobs.add(new Job(index, p, prompts.get(p), seed + index));
                }
            }
        }
        return new RunPlan(List.copyOf(prompts), startIndex, end, imagesPerPrompt,
                (end - startIndex) * imagesPerPrompt, shard, List.copyOf(jobs));
    }

    /**
     * This plan with each job given its prompt's condition image and the size made from it
     * ({@code images} and {@code sizes} indexed by prompt; entries of prompts outside the plan may be null).
     */
    RunPlan withImages(List<ConditionImage> images, List<Job.Size> sizes) {
        List<Job> withImages = new ArrayList<>();
        for (Job j : jobs) {
            withImages.add(new Job(j.index(), j.promptIndex(), j.prompt(), j.seed(), images.get(j.promptIndex()),
                    sizes.get(j.promptIndex())));
        }
        return new RunPlan(prompts, firstPrompt, endPrompt, imagesPerPrompt, selectedImages, shard,
                List.copyOf(withImages));
    }

    /** Highest global image index this run may write, or -1 when it has none. */
    int maxImageIndex() {
        return jobs.isEmpty() ? -1 : jobs.get(jobs.size() - 1).index();
    }

    /** Highest prompt index this run uses, or -1 when it has none. */
    int maxPromptIndex() {
        return jobs.isEmpty() ? -1 : jobs.get(jobs.size() - 1).promptIndex();
    }
}
