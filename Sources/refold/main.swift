import RefoldCLI

RefoldMain.run()
