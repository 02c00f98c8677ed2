import ArgumentParser
DSLLM.main()
