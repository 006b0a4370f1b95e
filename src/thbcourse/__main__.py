from thbcourse.cli import main

main()
