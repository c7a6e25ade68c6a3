import ThermogradCLI

ThermogradCommand.main()
