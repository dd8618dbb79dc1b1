from loader.cli import main

main(prog_name="nps-loader")
