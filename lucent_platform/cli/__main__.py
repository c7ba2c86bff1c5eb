from lucent_platform.cli.main import main

main()
