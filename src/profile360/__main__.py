from profile360.cli.main import main

main()
