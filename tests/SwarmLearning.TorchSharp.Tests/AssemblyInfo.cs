// libtorch's random generator and thread count are global: test classes that seed it must not run side by side.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
