from crmkpi.cli import main

main()
